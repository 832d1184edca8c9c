from datetime import timedelta
from pathlib import Path

import pytest

from autoscaler.config import ConfigError, load_config, parse_config

REPO = Path(__file__).resolve().parents[2]


def test_shipped_example_is_valid() -> None:
    cfg = load_config(REPO / "etc" / "autoscaler.yaml")
    g = cfg.groups[0]
    assert g.name == "web"
    assert g.cooldown_up == timedelta(minutes=3)
    assert g.slo.p95_latency == timedelta(milliseconds=200)
    assert [p.kind for p in g.policies] == ["target", "threshold"]
    spec = g.spec()
    assert spec.min_size == 2 and spec.max_size == 40
    assert spec.slo_p95_seconds == pytest.approx(0.2)


def test_every_error_reported_at_once_with_file_line_and_path(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(
        "groups:\n"
        "  - name: web\n"
        "    min_size: 5\n"
        "    max_size: 2\n"
        "  - name: api\n"
        "    cooldown_up: 5 minutes\n"
        "    flavor: nope\n"
        "    policies:\n"
        "      - kind: threshold\n"
        "        upper: 0.2\n"
        "        lower: 0.5\n"
        "      - kind: magic\n"
        "    bogus: 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(p)
    errors = info.value.errors
    assert f'{p}:6: groups[1].cooldown_up: invalid duration "5 minutes" (use 90s, 5m, 1h)' in errors
    assert f"{p}:2: groups[0]: min_size (5) exceeds max_size (2)" in errors
    assert f"{p}:7: groups[1].flavor: unknown flavor 'nope' (known: m1.small)" in errors
    assert f"{p}:9: groups[1].policies[0]: lower (0.5) must be below upper (0.2)" in errors
    assert f"{p}:12: groups[1].policies[1]: unknown policy kind 'magic'" in errors
    assert f"{p}:13: groups[1].bogus: unknown field" in errors
    assert len(errors) == 6
    # In the order they stand in the file.
    assert errors == sorted(errors, key=lambda e: int(e.split(":")[1]))


def test_cross_references_checked() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"groups": [{"name": "a", "flavor": "huge"}, {"name": "a"}]})
    text = str(info.value)
    assert "groups[0].flavor: unknown flavor 'huge'" in text
    assert "groups[1].name: duplicate group name 'a'" in text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("groups: [\n  - name: x\n", "invalid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_unusable_files(tmp_path: Path, content: str, fragment: str) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        load_config(p)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.yaml")


def test_boot_delay_shorthand_and_frozen() -> None:
    cfg = parse_config({"groups": [{"name": "a", "boot_delay": "10m"}]})
    g = cfg.groups[0]
    assert g.boot_delay.distribution == "fixed"
    assert g.boot_delay.median == timedelta(minutes=10)
    with pytest.raises(Exception, match="frozen"):
        g.min_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("boot", "lead_s"),
    [
        ({"distribution": "fixed", "median": "2m"}, 120.0),
        ({"distribution": "uniform", "low": "1m", "high": "11m"}, 600.0),  # 90 % of the way
        ({"distribution": "lognormal", "median": "2m", "sigma": 0.5}, 120.0 * 1.8980),
        ({"distribution": "lognormal", "median": "2m", "sigma": 0.5, "high": "3m"}, 180.0),
        ({"distribution": "lognormal", "median": "2m", "sigma": 0.5, "plan_quantile": 0.5}, 120.0),
    ],
)
def test_policies_plan_with_a_high_quantile_of_the_boot_delay(boot: dict, lead_s: float) -> None:
    from autoscaler.config import GroupConfig

    group = GroupConfig.model_validate({"name": "g", "boot_delay": boot})
    assert group.spec().boot_delay.total_seconds() == pytest.approx(lead_s, rel=1e-3)


@pytest.mark.parametrize(
    ("boot", "message"),
    [
        # every simulated boot raised (log 0) and the engine caught it: no scaling at all
        ({"distribution": "lognormal", "median": "0s"}, "needs a positive median"),
        ({"distribution": "lognormal", "median": "10m", "high": "5m"}, "10m is not within - .. 5m"),
        ({"distribution": "fixed", "median": "2m", "low": "1m"}, "low and high apply to"),
    ],
)
def test_a_boot_delay_whose_settings_would_be_ignored_is_an_error(boot: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"groups": [{"name": "g", "boot_delay": boot}]})


def test_serving_group_must_name_a_group() -> None:
    # check-config said OK; only simulate found that the template group did not exist.
    with pytest.raises(ConfigError, match=r"serving\.group: no group 'wbe' \(groups: web\)"):
        parse_config({"serving": {"group": "wbe"}, "groups": [{"name": "web"}]})
    assert parse_config({"serving": {"group": "web"}, "groups": [{"name": "web"}]}).serving
