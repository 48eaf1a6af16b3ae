"""Secrets come from files read at load time, and never leak into reprs or dumps."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.cli.main import main
from monitord.config import parse_config
from monitord.config.secrets import secret_warnings
from monitord.errors import ConfigError


def _config(path: Path | str) -> str:
    return f"daemon: {{api_token_file: '{path}'}}\n"


def test_secret_is_read_once_and_hidden(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cr3t-token\n")
    token.chmod(0o600)
    cfg = parse_config(_config(token))
    ref = cfg.daemon.api_token_file
    assert ref is not None and ref.get() == "s3cr3t-token", "the trailing newline is not part of it"
    token.write_text("changed")
    assert ref.get() == "s3cr3t-token", "read at load, not at use"
    for text in (repr(cfg), str(cfg), cfg.model_dump_json(), repr(ref)):
        assert "s3cr3t" not in text
    assert secret_warnings(cfg) == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "does not exist"),
        (lambda d: d, "is not a regular file"),
        (lambda d: (d / "empty").write_text("\n") and d / "empty", "is empty"),
        (lambda d: (d / "bin").write_bytes(b"\xff\xfe") and d / "bin", "is not UTF-8 text"),
    ],
    ids=["missing", "directory", "empty", "binary"],
)
def test_unusable_secret_files_are_config_errors_naming_the_key(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(ConfigError) as info:
        parse_config(_config(path))
    (problem,) = info.value.problems
    assert problem.startswith("daemon.api_token_file (line 1): secret file")
    assert message in problem


def test_secret_from_env_reference(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("x")
    cfg = parse_config("daemon: {api_token_file: '${TOKEN_PATH}'}", env={"TOKEN_PATH": str(token)})
    assert cfg.daemon.api_token_file is not None and cfg.daemon.api_token_file.get() == "x"


def test_world_readable_secret_is_a_warning_in_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = tmp_path / "token"
    token.write_text("x")
    token.chmod(0o644)
    config = tmp_path / "monitord.yaml"
    config.write_text(
        _config(token) + "checks: [{name: a, type: sip_options, target: 'sip:127.0.0.1'}]\n"
    )
    assert main(["check-config", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"warning: daemon.api_token_file: secret file '{token}' is readable by every user" in out
