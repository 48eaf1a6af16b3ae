"""`sip_register` config: the password comes from a file, bad targets fail at load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from monitord.config import parse_config
from monitord.config.register import SipRegisterCheck
from monitord.core.runner import PROBE_FACTORIES
from monitord.errors import ConfigError


def config(tmp_path: Path, extra: str = "", target: str = "sip:monitor@pbx.example.net") -> str:
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    pw.chmod(0o600)
    return (f"checks:\n  - name: reg1\n    type: sip_register\n    target: {target}\n"
            f"    password_file: {pw}\n{extra}")


def test_register_check_loads_and_hides_the_password(tmp_path: Path) -> None:
    cfg = parse_config(config(tmp_path, "    expires: 120\n    deregister: false\n"))
    check = cfg.checks[0]
    assert isinstance(check, SipRegisterCheck)
    assert check.expires == 120 and check.deregister is False
    assert check.password_file.get() == "s3cret"
    assert "s3cret" not in repr(check)
    assert "sip_register" in PROBE_FACTORIES


@pytest.mark.parametrize(
    ("target", "extra", "message"),
    [
        ("sip:pbx.example.net", "", "needs the account user"),
        ("sip:monitor@pbx.example.net", "    expires: 0\n", "expires"),
        ("sip:monitor@pbx.example.net", "    username: 'a b'\n",
         re.escape("invalid value 'a b': no spaces, quotes, '<', '>' or '@'")),
    ],
)
def test_register_check_problems(tmp_path: Path, target: str, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(config(tmp_path, extra, target))


def test_missing_password_file_is_a_config_error() -> None:
    text = ("checks:\n  - name: reg1\n    type: sip_register\n    target: sip:m@pbx.example.net\n"
            "    password_file: /nonexistent/pw\n")
    with pytest.raises(ConfigError, match="does not exist"):
        parse_config(text)
