"""bench/genai_serving.py's predictive_target and qos overrides check the policy against its group."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from autoscaler.config import PredictiveTargetPolicyConfig, load_config

_REPO = Path(__file__).resolve().parents[3]
_PATH = _REPO / "bench" / "genai_serving.py"
_SPEC = importlib.util.spec_from_file_location("genai_serving_bench", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_a_quantile_the_forecast_holds_replaces_the_policy() -> None:
    cfg = load_config(_REPO / "etc" / "genai-serving.yaml")
    pt = PredictiveTargetPolicyConfig(target=0.7, quantile=0.9)
    out = bench.with_predictive_config(cfg, pt)
    kinds = [p.kind for p in out.groups[0].policies]
    assert kinds.count("predictive_target") == 1
    assert [p for p in out.groups[0].policies if p.kind == "predictive_target"] == [pt]


def test_a_quantile_the_forecast_does_not_hold_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # model_copy skips the config's checks: 0.8 was read as 0.9 without a word
    cfg = load_config(_REPO / "etc" / "genai-serving.yaml")
    with pytest.raises(SystemExit) as exc:
        bench.with_predictive_config(cfg, PredictiveTargetPolicyConfig(target=0.7, quantile=0.8))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "quantile: 0.8 is not among forecaster.quantiles (0.5, 0.9, 0.95)" in err


def test_extra_qos_settings_replace_the_groups_qos_and_bad_ones_stop_in_one_line() -> None:
    cfg = load_config(_REPO / "etc" / "genai-serving.yaml")
    out = bench.with_qos(cfg, "panic_window=1m+scale_in_window=2m")
    (qos,) = [p for p in out.groups[0].policies if p.kind == "qos"]
    assert (qos.panic_window.total_seconds(), qos.scale_in_window.total_seconds()) == (60, 120)
    assert qos.quantile == 0.95  # what the setting does not name stays the group's
    assert [p.kind for p in out.groups[0].policies].count("qos") == 1
    with pytest.raises(
        SystemExit, match=r"^--extra-qos: panic_window: .*invalid duration \"soon\""
    ):
        bench.with_qos(cfg, "panic_window=soon")
    with pytest.raises(SystemExit, match=r"^--extra-qos: takes NAME=VALUE$"):
        bench.with_qos(cfg, "panic_window")
