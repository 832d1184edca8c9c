from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler.adapters.secrets import SecretError, read_secret


def test_reads_a_file_and_strips_the_newline(tmp_path: Path) -> None:
    f = tmp_path / "token"
    f.write_text("s3cret\n")
    assert read_secret(file=f, what="prometheus token") == "s3cret"


def test_reads_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOSCALER_TEST_TOKEN", "abc")
    assert read_secret(env="AUTOSCALER_TEST_TOKEN", what="token") == "abc"


@pytest.mark.parametrize("content", ["", "  \n"])
def test_an_empty_file_is_an_error(tmp_path: Path, content: str) -> None:
    f = tmp_path / "token"
    f.write_text(content)
    with pytest.raises(SecretError, match="is empty"):
        read_secret(file=f, what="token")


def test_errors_name_the_place_never_a_value(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match=r"token: cannot read .*missing"):
        read_secret(file=tmp_path / "missing", what="token")
    with pytest.raises(SecretError, match="NO_SUCH_VAR_HOPEFULLY is not set"):
        read_secret(env="NO_SUCH_VAR_HOPEFULLY", what="token")
    with pytest.raises(SecretError, match="exactly one"):
        read_secret(what="token")


def test_a_secret_file_that_is_a_device_binary_or_huge_is_refused_without_its_bytes(
    tmp_path: Path,
) -> None:
    odd = tmp_path / "token"
    odd.write_bytes(b"s3cr\xe9t\n")  # Latin-1, not UTF-8: the byte must not be shown
    with pytest.raises(SecretError) as err:
        read_secret(file=odd, what="--token-file")
    assert (
        str(err.value)
        == f"--token-file: cannot read {odd}: not UTF-8 text; save the secret file as UTF-8"
    )
    with pytest.raises(SecretError, match="not a regular file"):
        read_secret(file="/dev/zero", what="--token-file")
    odd.write_bytes(b"x" * (64 * 1024 + 1))
    with pytest.raises(SecretError, match="is larger than a secret file may be"):
        read_secret(file=odd, what="--token-file")
