"""``autoscaler simulate --config etc/genai-serving.yaml`` as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autoscaler", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


def _config(tmp_path: Path, **serving: object) -> Path:
    data = yaml.safe_load((REPO / "etc" / "genai-serving.yaml").read_text())
    data["serving"].update({"start_day": 4, "days": 1, **serving})
    path = tmp_path / "serving.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_simulate_serving_writes_the_summary_and_the_day_plot(tmp_path: Path, shared_data) -> None:
    cfg = _config(tmp_path)
    out = tmp_path / "out"
    res = run(
        "simulate", "--config", str(cfg), "--arrival-speedup", "20",
        "--policy", "kpa", "--policy", "oracle", "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "arrival speedup 20" in res.stdout
    rows = [ln.split()[0] for ln in res.stdout.splitlines() if ln.startswith(("kpa", "oracle"))]
    assert rows == ["kpa", "oracle"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["trace"]["arrival_speedup"] == 20
    for name in ("kpa", "oracle"):
        d = summary["policies"][name]
        assert d["gpu_hours"] > 0 and d["cold_starts"] > 0
        assert set(d["latency_seconds"]) == {"p50", "p95", "p99"}
        assert d["slo_goodput_per_gpu_hour"] > 0
    assert (out / "serving_day.png").stat().st_size > 10_000


def test_a_missing_request_trace_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cfg = _config(tmp_path, requests=str(tmp_path / "nope.csv"))
    out = tmp_path / "out"
    res = run("simulate", "--config", str(cfg), "--out", str(out))
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.csv'}: no such file"]
    assert not out.exists() or not any(out.iterdir())  # nothing written


def test_a_bad_trace_row_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "requests.csv"
    bad.write_text(
        "gmt_create,predict_status,exec_time_seconds,checkpoint_model_version_id\n"
        "2024-11-15 16:57:50,SUCCEED,32.0,M0000\n"
        "2024-11-15 16:58:50,SUCCEED,-1,M0000\n"
    )
    res = run("simulate", "--config", str(_config(tmp_path, requests=str(bad))))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip() == f"error: {bad}:3: exec_time_seconds must be >= 0, not -1.0"


def test_arrival_speedup_out_of_range_or_without_a_serving_config() -> None:
    res = run("simulate", "--config", "etc/genai-serving.yaml", "--arrival-speedup", "0")
    assert res.returncode == 2 and "'--arrival-speedup': 0.0 is not in the range" in res.stderr
    res = run("simulate", "--config", "etc/genai-serving.yaml", "--arrival-speedup", "5000")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: --arrival-speedup must be in (0, 1000], not 5000.0"
    res = run("simulate", "--arrival-speedup", "5")
    assert res.returncode == 2 and "applies to --fleet or a config with a serving:" in res.stderr


def test_a_bad_predictive_target_spare_or_react_is_one_error_and_exit_2(tmp_path: Path) -> None:
    for field, value, says in (
        ("spare", -1, "spare"),
        ("spare", 11, "spare"),
        ("react", "x", "react"),
        ("spare_above", -0.5, "spare_above"),
        ("spare_above", "x", "spare_above"),
        ("keep_warm", "-30s", "keep_warm"),
        ("keep_warm", "a while", "keep_warm"),
        ("keep_warm", "3m", "keep_warm"),  # longer than the group's metric.lookback (2m)
    ):
        data = yaml.safe_load((REPO / "etc" / "genai-serving.yaml").read_text())
        pt = next(p for p in data["groups"][0]["policies"] if p["kind"] == "predictive_target")
        pt[field] = value
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        res = run("check-config", str(path))
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        errors = [ln for ln in res.stderr.splitlines() if says in ln]
        assert len(errors) == 1, res.stderr


def test_a_default_policy_the_template_contradicts_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # qos run at its defaults (quantile 0.95) on a template that stores only 0.5 and 0.9:
    # the replay read the 0.9 band instead without a word
    data = yaml.safe_load(_config(tmp_path).read_text())
    group = data["groups"][0]
    group["policies"] = [p for p in group["policies"] if p["kind"] == "kpa"]
    group["forecaster"]["quantiles"] = [0.5, 0.9]
    path = tmp_path / "kpa_only.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    res = run("simulate", "--config", str(path), "--policy", "qos", "--out", str(out))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip() == (
        "error: policy qos (its defaults; list it under the group's policies to change them): "
        "quantile: 0.95 is not among forecaster.quantiles (0.5, 0.9); add it there (the "
        "policy would read another quantile or the mean)"
    )
    assert not out.exists()
    res = run("simulate", "--config", str(path), "--policy", "schedule")
    assert res.returncode == 2 and res.stderr.startswith("error: unknown policy 'schedule'")
