"""The API off loopback, authenticated over TLS, and pause/resume through it."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from daemon_fakes import FakeWorld, config, group

from autoscaler.cli import cli
from autoscaler.config import ApiConfig
from autoscaler.daemon.api_security import (
    ApiSecurity,
    ApiSecurityError,
    bind_problem,
    hash_password,
    load_security,
)
from autoscaler.daemon.http_api import ApiRefused, ApiServer
from tests.fakes.tls import self_signed

TOKEN = "s3cret-token-for-tests"


def test_a_non_loopback_bind_without_tls_and_auth_is_refused(make_daemon, tmp_path) -> None:
    d = make_daemon(config(group("web")), FakeWorld({"web": 2}, {"web": 100.0}))
    with pytest.raises(ApiRefused) as refused:
        ApiServer(d, d.metrics.registry, "0.0.0.0", 0)
    msg = str(refused.value)
    assert "0.0.0.0" in msg and "TLS" in msg and "token_file" in msg
    # TLS alone or a token alone is not enough either
    cert, key = self_signed(tmp_path)
    (tmp_path / "tokens").write_text(TOKEN + "\n")
    tls_only = load_security(ApiConfig(tls_cert_file=str(cert), tls_key_file=str(key)), tmp_path)
    token_only = load_security(ApiConfig(token_file="tokens"), tmp_path)
    assert "credential" in (bind_problem("10.0.0.5", tls_only) or "")
    assert "TLS" in (bind_problem("10.0.0.5", token_only) or "")
    both = load_security(
        ApiConfig(tls_cert_file=str(cert), tls_key_file=str(key), token_file="tokens"), tmp_path
    )
    assert bind_problem("10.0.0.5", both) is None
    assert bind_problem("127.0.0.1", ApiSecurity()) is None
    assert bind_problem("::1", ApiSecurity()) is None
    assert bind_problem("api.example.org", ApiSecurity()) is not None


def test_run_refuses_a_public_bind_with_one_line_and_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("groups: [{name: web, policies: [{kind: target}]}]\n")
    args = ["run", "--config", str(cfg), "--state-dir", str(tmp_path / "s"), "--bind", "0.0.0.0"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    assert "refusing to serve the API on 0.0.0.0" in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "s").exists(), "nothing was written"


def test_bad_security_settings_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ApiSecurityError, match=r"token_file: cannot read .*missing"):
        load_security(ApiConfig(token_file="missing"), tmp_path)
    with pytest.raises(ApiSecurityError, match="not a hash from `autoscaler hash-password`"):
        load_security(ApiConfig(basic_auth_users={"prom": "plain-password"}), tmp_path)
    with pytest.raises(ValueError, match="go together"):
        ApiConfig(tls_cert_file="cert.pem")


@pytest.fixture
def secured(make_daemon, tmp_path):
    cert, key = self_signed(tmp_path)
    (tmp_path / "tokens").write_text(TOKEN + "\n")
    cfg = ApiConfig(
        tls_cert_file=str(cert),
        tls_key_file=str(key),
        token_file="tokens",
        basic_auth_users={"prometheus": hash_password("scrape-pw")},
    )
    world = FakeWorld({"web": 2}, {"web": 400.0})
    d = make_daemon(config(group("web")), world)
    api = ApiServer(d, d.metrics.registry, "127.0.0.1", 0, load_security(cfg, tmp_path))
    api.start()
    host, port = api.address
    context = ssl.create_default_context(cafile=str(cert))
    yield d, world, f"https://{host}:{port}", context, cert
    api.stop()


def call(url, context, method="GET", auth=None, body=None):
    headers = {"Authorization": auth} if auth else {}
    req = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5, context=context) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_unauthenticated_requests_get_401_and_change_nothing(secured) -> None:
    d, world, url, ctx, _ = secured
    for path in ("/metrics", "/readyz", "/v1/groups", "/v1/groups/web"):
        assert call(url + path, ctx)[0] == 401, path
    wrong = "Basic " + base64.b64encode(b"prometheus:wrong").decode()
    for auth in (None, "Bearer nope", wrong, "Bearer "):
        code, body = call(url + "/v1/groups/web/pause", ctx, "POST", auth, b"{}")
        assert code == 401 and "authentication required" in body
    assert d.store.paused() == {}
    assert d.metrics.registry.get_sample_value("autoscaler_group_paused", {"group": "web"}) == 0
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    assert d.groups["web"].last["outcome"] == "done", "the group still acts"
    assert call(url + "/healthz", ctx)[0] == 200, "liveness needs no secret"
    # plain HTTP to the TLS port gets no answer from the API
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(url.replace("https", "http") + "/healthz", timeout=2).read()


def test_token_and_basic_auth_are_accepted(secured) -> None:
    _, _, url, ctx, _ = secured
    code, body = call(url + "/metrics", ctx, auth=f"Bearer {TOKEN}")
    assert code == 200 and "autoscaler_build_info" in body
    basic = "Basic " + base64.b64encode(b"prometheus:scrape-pw").decode()
    assert call(url + "/v1/groups", ctx, auth=basic)[0] == 200


def test_pause_and_resume_through_the_cli_persist_and_show_everywhere(
    secured, make_daemon, tmp_path
) -> None:
    d, world, url, ctx, cert = secured
    opts = ["--url", url, "--token-file", str(tmp_path / "tokens"), "--ca-file", str(cert)]
    r = CliRunner().invoke(cli, ["pause", "web", "--reason", "maintenance", *opts])
    assert r.exit_code == 0, r.output
    assert "web: paused since" in r.output
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    last = d.groups["web"].last
    assert last["outcome"] == "paused" and last["action"] is None and "paused" in last["guard"]
    assert world.cloud.scale_calls == []
    r = CliRunner().invoke(cli, ["status", *opts])
    assert r.exit_code == 0 and "PAUSED since" in r.output and "maintenance" in r.output
    view = json.loads(call(url + "/v1/groups", ctx, auth=f"Bearer {TOKEN}")[1])["groups"][0]
    assert view["paused"]["reason"] == "maintenance"
    metrics = call(url + "/metrics", ctx, auth=f"Bearer {TOKEN}")[1]
    assert 'autoscaler_group_paused{group="web"} 1.0' in metrics
    assert 'autoscaler_actions_total{direction="up",group="web",outcome="advised"} 1.0' in metrics

    # A restart on the same state database keeps the pause.
    again = make_daemon(config(group("web")), world)
    assert again.groups["web"].binding.spec.paused
    assert again.group_view("web")["paused"]["reason"] == "maintenance"
    assert again.metrics.registry.get_sample_value("autoscaler_group_paused", {"group": "web"}) == 1

    r = CliRunner().invoke(cli, ["resume", "web", *opts])
    assert r.exit_code == 0 and "web: resumed" in r.output
    world.clock.advance(timedelta(minutes=1))
    d.evaluate("web")
    assert d.groups["web"].last["outcome"] == "done" and len(world.cloud.scale_calls) == 1

    r = CliRunner().invoke(cli, ["pause", "web", "--url", url, "--ca-file", str(cert)])
    assert r.exit_code == 2 and "HTTP 401" in r.output and "--token-file" in r.output
    assert not d.groups["web"].binding.spec.paused


def test_hash_password_reads_stdin_and_verifies() -> None:
    from autoscaler.daemon.api_security import verify_password

    r = CliRunner().invoke(cli, ["hash-password"], input="hunter2\n")
    assert r.exit_code == 0, r.output
    stored = r.output.strip()
    assert stored.startswith("scrypt$") and "hunter2" not in stored
    assert verify_password("hunter2", stored) and not verify_password("hunter3", stored)
