"""Config loading: every problem at once, each with its YAML path and line.

Each `invalid/NAME.yaml` is paired with `invalid/NAME.expected`: the exact
problem lines a NOC engineer sees, one per line (a YAML syntax error spans
several). Fixtures are loaded with an empty environment so `${VAR}` cases do
not depend on the machine running the tests.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitord.cli.main import main
from monitord.config import effective_checks, load_config, parse_config
from monitord.config.base import parse_status_codes
from monitord.config.durations import MAX_DURATION, format_duration, parse_duration
from monitord.core.checkstate import Thresholds
from monitord.core.events import DowntimeStart
from monitord.errors import ConfigError

HERE = Path(__file__).parent
INVALID = HERE / "invalid"
REPO = HERE.parents[2]
FIXTURES = sorted(INVALID.glob("*.yaml"))

GOOD = """\
daemon:
  site: ams1
defaults:
  interval: 10s
checks:
  - name: sbc1-udp
    type: sip_options
    target: sip:sbc1.voip.example.net:5060
services:
  - name: voipnow
    checks: [sbc1-udp]
"""


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env={} if env is None else env)
    assert info.value.source == str(path)
    return info.value.problems


def problems_in(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={} if env is None else env)
    return info.value.problems


# --- invalid fixtures -------------------------------------------------------------


def test_every_fixture_has_its_expected_errors() -> None:
    assert len(FIXTURES) >= 12
    yaml_names = {p.stem for p in FIXTURES}
    expected_names = {p.stem for p in INVALID.glob("*.expected")}
    assert yaml_names == expected_names


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_invalid_fixture_gives_exactly_its_expected_errors(fixture: Path) -> None:
    expected = fixture.with_suffix(".expected").read_text(encoding="utf-8")
    assert "\n".join(problems_of(fixture)) + "\n" == expected


def test_fixture_error_lines_point_at_the_offending_yaml_line() -> None:
    # Guards the .expected files themselves: each "(line N)" names a line that
    # holds the key the path ends in (or, for list items, the item).
    for fixture in FIXTURES:
        lines = fixture.read_text(encoding="utf-8").splitlines()
        for problem in problems_of(fixture):
            match = re.match(r"(\S+) \(line (\d+)\): ", problem)
            if match is None:
                continue
            path, line = match.group(1), int(match.group(2))
            last = re.split(r"[.\[]", path)[-1].rstrip("]")
            text = lines[line - 1]
            if problem.endswith("required key is missing"):
                last = "0"  # a missing key has no line: its mapping's is given
            item = text.lstrip().startswith("-") or "[" in text  # block or flow list
            assert (last.isdigit() and item) or last in text, (
                fixture.name,
                problem,
                text,
            )


# --- the acceptance criterion -------------------------------------------------------


def test_misspelt_key_bad_duration_and_negative_threshold_are_all_reported() -> None:
    problems = problems_of(INVALID / "three_errors.yaml")
    assert len(problems) == 3
    misspelt, duration, threshold = problems
    assert misspelt.startswith("defaults.intreval (line 5): unknown key 'intreval'")
    assert "did you mean 'interval'?" in misspelt
    assert duration.startswith("checks[0].timeout (line 10): invalid duration '3 seconds'")
    assert threshold.startswith("checks[0].down_after (line 11): ")
    assert "must be at least 1, got -5" in threshold


def test_config_error_message_lists_every_problem() -> None:
    path = INVALID / "three_errors.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    text = str(info.value)
    assert text.startswith(f"{path}: 3 configuration error(s):\n")
    for problem in info.value.problems:
        assert f"\n  - {problem}" in text


def test_model_and_cross_field_problems_are_reported_together() -> None:
    text = GOOD.replace("site: ams1", "sit: ams1").replace("[sbc1-udp]", "[sbc1-udp, nosuch]")
    assert problems_in(text) == [
        "daemon.sit (line 2): unknown key 'sit' (did you mean 'site'?)",
        "services[0].checks[1] (line 11): unknown check 'nosuch'",
    ]


# --- environment variables ------------------------------------------------------


def test_env_reference_is_expanded() -> None:
    text = GOOD.replace("sbc1.voip.example.net", "${SBC1_HOST}")
    cfg = parse_config(text, env={"SBC1_HOST": "10.1.2.3"})
    assert cfg.checks[0].target == "sip:10.1.2.3:5060"


def test_env_default_is_used_only_when_the_variable_is_unset() -> None:
    text = GOOD.replace("interval: 10s", "interval: ${PROBE_EVERY:-30s}")
    assert parse_config(text, env={}).defaults.interval == 30.0
    assert parse_config(text, env={"PROBE_EVERY": "5s"}).defaults.interval == 5.0
    # set but empty is set: the empty string is then an invalid duration
    assert problems_in(text, env={"PROBE_EVERY": ""}) == [
        "defaults.interval (line 4): invalid duration '': use a number with a unit,"
        " e.g. 500ms, 10s, 5m, 1h"
    ]


def test_env_references_mix_with_text_and_each_other() -> None:
    text = GOOD.replace(
        "sip:sbc1.voip.example.net:5060", "sip:${USER_PART:-probe}@${HOST}:${PORT:-5070}"
    )
    cfg = parse_config(text, env={"HOST": "sbc.example.net"})
    assert cfg.checks[0].target == "sip:probe@sbc.example.net:5070"


def test_env_values_are_not_parsed_as_yaml() -> None:
    text = GOOD.replace("site: ams1", "site: ${SITE}")
    assert parse_config(text, env={"SITE": "ams1"}).daemon.site == "ams1"
    problems = problems_in(text, env={"SITE": "[a, b]"})
    assert problems == [
        "daemon.site (line 2): invalid name '[a, b]': use letters, digits, '.', '_' or '-'"
        " (max 128), starting with a letter or digit"
    ]


def test_process_environment_is_used_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITORD_TEST_SITE", "rtm2")
    cfg = parse_config(GOOD.replace("site: ams1", "site: ${MONITORD_TEST_SITE}"))
    assert cfg.daemon.site == "rtm2"


# --- loading edge cases -----------------------------------------------------------


def test_a_good_config_loads_with_defaults_applied(tmp_path: Path) -> None:
    path = tmp_path / "monitord.yaml"
    path.write_text(GOOD, encoding="utf-8")
    cfg = load_config(path, env={})
    assert cfg.daemon.site == "ams1"
    assert cfg.daemon.timezone == "Europe/Amsterdam"
    assert [c.name for c in cfg.checks] == ["sbc1-udp"]
    assert cfg.checks[0].accept_codes == frozenset(range(200, 300))
    assert cfg.services[0].required_down() == 1
    (eff,) = effective_checks(cfg)
    assert (eff.name, eff.type, eff.interval, eff.timeout) == ("sbc1-udp", "sip_options", 10, 3)
    # sla-rules §1: alert after 3, down after 5, interval backdated to the first failure
    assert eff.thresholds == Thresholds(3, 5, 1, DowntimeStart.FIRST_FAILURE)


def test_check_settings_override_defaults() -> None:
    text = GOOD.replace(
        "    target: sip:sbc1.voip.example.net:5060\n",
        "    target: sip:sbc1.voip.example.net:5060\n"
        "    interval: 1m\n    timeout: 500ms\n    alert_after: 2\n    down_after: 10\n"
        "    recover_after: 3\n    downtime_start: confirmation\n",
    )
    (eff,) = effective_checks(parse_config(text, env={}))
    assert (eff.interval, eff.timeout) == (60.0, 0.5)
    assert eff.thresholds == Thresholds(2, 10, 3, DowntimeStart.CONFIRMATION)


def test_an_empty_file_is_refused_not_taken_for_the_default_config(tmp_path: Path) -> None:
    # Issue 12: an empty file passed as OK, so a truncated deploy ran a daemon watching nothing.
    for text in ("", "# nothing configured yet\n", "---\n", "~\n"):
        path = tmp_path / "empty.yaml"
        path.write_text(text, encoding="utf-8")
        assert problems_of(path) == [
            "(top level): the file is empty: a config needs at least checks:"
            " (see config/example.yaml)"
        ], text


def test_a_config_without_checks_is_refused_where_checks_are_required() -> None:
    sla_only = "sla_policies:\n  - {name: month, target_percent: 99.9}\n"
    assert parse_config(sla_only, env={}).sla_policies[0].name == "month"  # sla compute's input
    with pytest.raises(ConfigError) as info:
        parse_config(sla_only, env={}, require_checks=True)
    assert info.value.problems == [
        "(top level) (line 1): no checks: the daemon would watch nothing (a file with only"
        " sla_policies, calendars and maintenance is for `monitord sla compute`)"
    ]
    with pytest.raises(ConfigError) as info:
        parse_config("checks: []\n" + sla_only, env={}, require_checks=True)
    assert info.value.problems[0].startswith("checks (line 1): no checks: ")


def test_missing_file(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nope.yaml")
    assert problems == ["cannot read the file: No such file or directory"]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("daemon:\n  site: z\xfcrich\n".encode("latin-1"))
    (problem,) = problems_of(path)
    assert problem.startswith("the file is not UTF-8 text: ")


def test_yaml_syntax_error_names_the_line() -> None:
    (problem,) = problems_in("checks:\n  - name: a\n   type: sip_options\n")
    assert problem.startswith("line 3, column 4: YAML syntax error: ")
    assert "\n" not in problem, "one line per problem"


def test_config_demo_yaml_loads() -> None:
    demo = REPO / "config" / "demo.yaml"
    cfg = load_config(demo, env={})
    assert len(cfg.checks) >= 1
    assert {c for s in cfg.services for c in s.checks} <= {c.name for c in cfg.checks}


def test_config_example_yaml_loads() -> None:
    example = REPO / "config" / "example.yaml"
    cfg = load_config(example, env={})
    assert len(effective_checks(cfg)) == len(cfg.checks) >= 1


# --- parse_duration ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("250ms", 0.25),
        ("1m30s", 90.0),
        ("1h 30m", 5400.0),
        (" 2.5s ", 2.5),
        ("0.5ms", 0.0005),
        (10, 10.0),
        (0.25, 0.25),
    ],
)
def test_parse_duration_examples(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "value",
    ["", "10", "10S", "10 sec", "s", "-5s", "+5s", "1e3s", "5s-", "m5", "1x30s", "0s", "0ms", 0,
     -1, 0.0, True, False, None, [10], math.nan, math.inf, -math.inf, "9" * 400 + "s"],
)  # fmt: skip
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


units = st.sampled_from([("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86400.0)])


@given(st.lists(st.tuples(st.integers(0, 10_000), units), min_size=1, max_size=5))
def test_parse_duration_sums_its_parts(parts: list[tuple[int, tuple[str, float]]]) -> None:
    text = "".join(f"{n}{unit}" for n, (unit, _) in parts)
    total = sum(n * factor for n, (_, factor) in parts)
    if total > MAX_DURATION:
        with pytest.raises(ValueError, match="longer than this setting allows"):
            parse_duration(text)
    elif total > 0:
        assert parse_duration(text) == pytest.approx(total, rel=1e-12)
    else:
        with pytest.raises(ValueError, match="must be positive"):
            parse_duration(text)


@given(st.floats(min_value=1e-6, max_value=MAX_DURATION) | st.integers(1, int(MAX_DURATION)))
def test_parse_duration_takes_positive_numbers_as_seconds(value: float) -> None:
    assert parse_duration(value) == float(value)


@given(st.floats(min_value=1e-6, max_value=MAX_DURATION) | st.integers(1, int(MAX_DURATION)))
def test_a_bare_number_from_a_file_is_refused_with_the_spelling_to_use(value: float) -> None:
    with pytest.raises(ValueError, match="has no unit: write '") as info:
        parse_duration(value, bare_number_ok=False)
    suggested = re.search(r"write '([^']+)'", str(info.value))
    assert suggested is not None
    assert parse_duration(suggested.group(1)) == pytest.approx(float(value), rel=1e-5)


@pytest.mark.parametrize(
    ("text", "maximum", "shown"),
    [("99999999999999999999h", MAX_DURATION, "366d"), ("25h", 86400.0, "1d"),
     ("6m", 300.0, "5m"), ("1h0.5s", 3600.0, "1h")],
)  # fmt: skip
def test_parse_duration_names_the_bound_it_exceeds(text: str, maximum: float, shown: str) -> None:
    with pytest.raises(ValueError, match=f"at most {shown}\\)"):
        parse_duration(text, maximum=maximum)
    assert format_duration(maximum) == shown


@given(st.text(max_size=20) | st.floats() | st.integers())
def test_parse_duration_returns_a_positive_finite_float_or_raises_value_error(
    value: object,
) -> None:
    try:
        seconds = parse_duration(value)
    except ValueError:
        return
    assert isinstance(seconds, float)
    assert math.isfinite(seconds) and seconds > 0


# --- parse_status_codes -------------------------------------------------------------


def test_parse_status_codes_examples() -> None:
    assert parse_status_codes(["2xx"]) == frozenset(range(200, 300))
    assert parse_status_codes([200, "404", " 4XX "]) == frozenset({200, *range(400, 500)})
    assert parse_status_codes(183) == frozenset({183})
    assert parse_status_codes("6xx") == frozenset(range(600, 700))


@pytest.mark.parametrize(
    "value",
    [[], [99], [700], ["7xx"], ["0xx"], ["2x"], ["20x"], ["2xx,404"], [200.0], [True], [None]],
)
def test_parse_status_codes_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="SIP status code"):
        parse_status_codes(value)


@given(
    st.lists(
        st.integers(100, 699) | st.integers(1, 6).map(lambda c: f"{c}xx"), min_size=1, max_size=6
    )
)
def test_parse_status_codes_is_the_union_of_its_items(items: list[int | str]) -> None:
    expected: set[int] = set()
    for item in items:
        if isinstance(item, int):
            expected.add(item)
        else:
            base = int(item[0]) * 100
            expected.update(range(base, base + 100))
    assert parse_status_codes(items) == expected
    assert parse_status_codes([str(i).upper() for i in items]) == expected


@given(st.lists(st.text(max_size=5) | st.integers() | st.none(), max_size=4))
def test_parse_status_codes_yields_sip_codes_or_raises_value_error(items: list[object]) -> None:
    try:
        codes = parse_status_codes(items)
    except ValueError:
        return
    assert codes and all(100 <= c <= 699 for c in codes)


# --- the CLI ----------------------------------------------------------------------


def test_cli_check_config_lists_every_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = INVALID / "three_errors.yaml"
    assert main(["check-config", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}: 3 configuration error(s):" in err
    expected = (INVALID / "three_errors.expected").read_text(encoding="utf-8").splitlines()
    for line in expected:
        assert f"  - {line}\n" in err


def test_cli_check_config_accepts_a_good_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check-config", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        f"{path}: OK (1 checks, 1 services)",
        "  sbc1-udp: sip_options every 10s, timeout 3s, alert after 3, down after 5,"
        " recover after 1",
    ]


def test_cli_check_config_on_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read the file" in capsys.readouterr().err


def test_cli_check_config_without_a_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check-config"]) == 2
    assert "--config FILE" in capsys.readouterr().err
