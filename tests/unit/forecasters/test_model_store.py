"""The model store: versions, atomic current pointer, and refusing what it cannot trust."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import numpy as np
import pytest
from forecast_data import STEP

from autoscaler.forecasters.registry import build_forecaster
from autoscaler.forecasters.store import ModelStore, ModelStoreError
from tests import hostile_files as hf


@pytest.fixture()
def saved(tmp_path, nab_cpu):
    store = ModelStore(tmp_path / "models")
    model = build_forecaster("linear", STEP).fit(nab_cpu)
    store.save("web", model)
    return store, model


def test_versions_and_current_pointer(saved, nab_cpu):
    store, model = saved
    assert store.versions("web") == ["v000001"] and store.current("web") == "v000001"
    model.update(nab_cpu.iloc[:0])
    meta = store.save("web", model)
    assert meta.version == "v000002" and store.current("web") == "v000002"
    assert meta.kind == "linear" and meta.params["lookback"] == "4h"
    assert meta.trained_to == str(nab_cpu.index[-1]) and meta.trained_from == str(nab_cpu.index[0])
    assert {"python", "numpy", "pandas"} <= set(meta.libraries)
    old, _ = store.load("web", "v000001")
    np.testing.assert_array_equal(old.predict(3).mean, model.predict(3).mean)
    # No temporary directory or pointer is left behind.
    assert sorted(p.name for p in (store.root / "web").iterdir()) == [
        "CURRENT",
        "v000001",
        "v000002",
    ]


def _edit_meta(store, **changes):
    path = store.root / "web" / "v000001" / "meta.json"
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_other_library_version_is_refused(saved):
    store, _ = saved
    _edit_meta(store, libraries={"python": "3.11", "numpy": "1.0.0", "pandas": "0.1"})
    with pytest.raises(ModelStoreError, match=r"saved with numpy 1\.0\.0 \(now .*refit"):
        store.load("web")


def test_other_format_version_is_refused(saved):
    store, _ = saved
    _edit_meta(store, format_version=99)
    with pytest.raises(ModelStoreError, match="store format 99"):
        store.load("web")


def test_tampered_payload_is_refused(saved):
    store, _ = saved
    path = store.root / "web" / "v000001" / "model.pkl"
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ModelStoreError, match="checksum"):
        store.load("web")


def test_world_writable_payload_is_refused(saved):
    store, _ = saved
    path = store.root / "web" / "v000001" / "model.pkl"
    os.chmod(path, 0o666)
    with pytest.raises(ModelStoreError, match="writable by others"):
        store.load("web")


def test_missing_and_invalid_names(tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelStoreError, match="no saved model"):
        store.load("web")
    with pytest.raises(ModelStoreError, match="invalid model name"):
        store.load("../etc")
    with pytest.raises(ModelStoreError, match="no such model version"):
        (tmp_path / "web").mkdir()
        (tmp_path / "web" / "CURRENT").write_text("v000007\n")
        store.load("web")


class _RunsCode:
    """A payload that would run ``os.system`` under a plain ``pickle.loads``."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _replace_payload(store, payload: bytes) -> None:
    """Swap the payload and fix up its checksum: what an attacker with write access to
    both files (a checksum is no signature) can do."""
    import hashlib

    path = store.root / "web" / "v000001" / "model.pkl"
    path.write_bytes(payload)
    _edit_meta(store, sha256=hashlib.sha256(payload).hexdigest())


def test_a_payload_naming_other_code_is_refused_not_run(saved, tmp_path, monkeypatch):
    import pickle

    store, _ = saved
    monkeypatch.chdir(tmp_path)
    _replace_payload(store, pickle.dumps(_RunsCode()))
    with pytest.raises(ModelStoreError, match=r"refusing to load posix\.system"):
        store.load("web")
    assert not (tmp_path / "pwned").exists()


def test_a_payload_of_plain_data_is_not_a_model(saved):
    import pickle

    store, _ = saved
    _replace_payload(store, pickle.dumps({"weights": np.zeros(3)}))
    with pytest.raises(ModelStoreError, match="holds a dict, not a forecaster"):
        store.load("web")
    _replace_payload(store, b"\x80\x05garbage")
    with pytest.raises(ModelStoreError, match="corrupt model data"):
        store.load("web")
    _replace_payload(store, b"P")  # truncated: one line, whatever the unpickler says
    with pytest.raises(ModelStoreError, match="corrupt model data") as err:
        store.load("web")
    assert "\n" not in str(err.value)
    # a reference other than the dropped refit factory is refused by name
    _replace_payload(store, b"\x80\x05\x8c\x04evil\x94Q.")
    with pytest.raises(ModelStoreError, match="refusing to load the reference 'evil'"):
        store.load("web")


def test_the_calibrated_model_the_daemon_serves_round_trips(tmp_path, nab_cpu):
    # conformal around the fallback around ARIMA, as autoscaler.registry builds it: its
    # refit factory (a closure) is not stored; the loaded model forecasts as the saved one
    store = ModelStore(tmp_path)
    model = build_forecaster("arima", STEP, fallback=True, calibrated=True).fit(nab_cpu)
    assert model.refit is not None and model.calibrated
    store.save("web", model)
    again, meta = store.load("web")
    assert type(again) is type(model) and again.refit is None and meta.kind == "arima"
    a, b = model.predict(12, (0.05, 0.95)), again.predict(12, (0.05, 0.95))
    np.testing.assert_allclose(a.mean, b.mean)
    np.testing.assert_allclose(a.quantiles[0.95], b.quantiles[0.95])
    assert a.note == b.note and "conformal" in a.note


def test_every_kind_round_trips_through_the_restricted_loader(tmp_path, nab_cpu):
    store = ModelStore(tmp_path)
    for kind in ("naive", "seasonal_naive", "linear", "ets", "arima", "ensemble"):
        for fallback in (False, True):
            model = build_forecaster(kind, STEP, fallback=fallback).fit(nab_cpu)
            store.save(kind, model)
            again, meta = store.load(kind)
            assert type(again) is type(model) and meta.kind
            np.testing.assert_allclose(again.predict(4).mean, model.predict(4).mean)


def test_a_store_of_the_wrong_shape_is_a_clear_error(saved, tmp_path):
    store, model = saved
    for meta in ([1, 2], {"format_version": 1}, {"format_version": 1, "sha256": 5}):
        (store.root / "web" / "v000001" / "meta.json").write_text(json.dumps(meta))
        with pytest.raises(ModelStoreError, match="malformed metadata"):
            store.load("web")
    afile = tmp_path / "a-file"
    afile.write_text("")
    with pytest.raises(ModelStoreError, match="cannot create the model directory"):
        ModelStore(afile).save("web", model)
    with pytest.raises(ModelStoreError, match="is not a forecaster this store keeps"):
        ModelStore(tmp_path / "m").save("web", {"not": "a model"})


@pytest.mark.parametrize("index", range(len(hf.FORBIDDEN_GLOBALS)))
def test_a_forbidden_global_is_refused_and_nothing_runs(tmp_path, index):
    import pickle

    marker = tmp_path / "ran"
    store = hf.spoil_store(hf.saved_store(tmp_path / "models"), ("global", bytes([index])), marker)
    module, name = hf.FORBIDDEN_GLOBALS[index]
    with pytest.raises(ModelStoreError, match=f"refusing to load {module}.{name}"):
        store.load("web")
    assert not marker.exists()
    if (module, name) == ("os", "system"):  # the payload is live: a plain pickle runs it
        pickle.loads((store.root / "web" / "v000001" / "model.pkl").read_bytes())
        assert marker.exists()


def test_store_files_that_are_devices_or_too_large_are_refused(saved):
    store, _ = saved
    version = store.root / "web" / "v000001"
    (version / "meta.json").unlink()
    (version / "meta.json").symlink_to("/dev/zero")
    with pytest.raises(ModelStoreError, match="not a regular file"):
        store.load("web")
    (store.root / "web" / "CURRENT").unlink()
    (store.root / "web" / "CURRENT").write_text("v000001" + " " * 100)
    with pytest.raises(ModelStoreError, match="larger than a version pointer"):
        store.load("web")


def test_a_refused_stored_model_falls_back_to_a_fresh_fit(tmp_path):
    """The provider does not stop on a tampered store: it counts, says why, and fits."""
    from tests.unit.predictive.test_forecast_history import MIN, _setup

    _, start, source, first = _setup()
    first.forecaster.store = ModelStore(tmp_path / "models")
    at = start + timedelta(days=2)
    assert first.forecaster.forecast(first.spec, source.window("", at, timedelta(hours=1), MIN), at)
    marker = tmp_path / "ran"
    hf.spoil_store(first.forecaster.store, ("global", bytes([0])), marker)
    _, _, _, second = _setup()
    second.forecaster.store = ModelStore(tmp_path / "models")
    now = at + timedelta(minutes=20)
    fc = second.forecaster.forecast(
        second.spec, source.window("", now, timedelta(hours=1), MIN), now
    )
    assert fc is not None and second.forecaster.fits == 1
    assert second.forecaster.restore_failures == 1 and not marker.exists()
