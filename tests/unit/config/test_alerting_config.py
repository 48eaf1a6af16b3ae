"""The `alertmanager:` and `mqtt:` sections: defaults, and errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitord.config import parse_config
from monitord.errors import ConfigError


def test_both_sections_are_optional() -> None:
    cfg = parse_config("daemon: {site: ams}\n", env={})
    assert cfg.alertmanager is None and cfg.mqtt is None


def test_defaults() -> None:
    cfg = parse_config("alertmanager: {urls: ['http://127.0.0.1:9093']}\nmqtt: {}\n", env={})
    assert cfg.alertmanager is not None and cfg.mqtt is not None
    assert cfg.alertmanager.resend_interval == 30.0 and cfg.alertmanager.service_priority == "P1"
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.topic_prefix) == ("127.0.0.1", 1883, "monitord")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alertmanager: {urls: []}", "alertmanager.urls (line 1): List should have at least 1 item"),
        ("alertmanager: {urls: ['am:9093']}", "invalid Alertmanager URL 'am:9093'"),
        ("alertmanager: {urls: ['http://a:1', 'http://a:1']}", "listed twice"),
        ("alertmanager: {urls: ['http://a:1'], retry_initial: 1m, retry_max: 1s}",
         "retry_initial must not exceed retry_max"),
        ("mqtt: {topic_prefix: 'a/#'}", "invalid topic_prefix"),
        ("mqtt: {port: 0}", "mqtt.port"),
        ("mqtt: {tls: {cert_file: c.pem}}", "tls.cert_file and tls.key_file go together"),
        ("mqtt: {hostname: x}", "unknown key 'hostname'"),
    ],
)
def test_problems_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text + "\n", env={})
    assert message in str(err.value)


def test_password_file_needs_a_username(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt.pass"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    with pytest.raises(ConfigError, match=r"password_file needs mqtt\.username"):
        parse_config(f"mqtt: {{password_file: {secret}}}\n", env={})
    cfg = parse_config(f"mqtt: {{username: monitord, password_file: {secret}}}\n", env={})
    assert cfg.mqtt is not None and cfg.mqtt.password_file is not None
    assert cfg.mqtt.password_file.get() == "s3cret"
    assert "s3cret" not in repr(cfg)
