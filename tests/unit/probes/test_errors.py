"""`probes` has one exception tree, rooted in probes/errors.py.

Checked over the source, not by listing classes by hand: a module that grows
its own `class XError(Exception)` or raises a bare builtin on purpose fails
here, naming the file and line.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import probes
from probes import errors
from probes.base import FailureReason

PROBES = Path(probes.__file__).parent
# OSError stays what it is (a local socket or port problem callers already catch);
# AssertionError marks code that cannot be reached.
BUILTINS_ALLOWED = {"OSError", "AssertionError", "NotImplementedError"}


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(PROBES)], "probes."))


def test_every_exception_class_of_probes_is_defined_in_errors_and_derives_from_the_root() -> None:
    strays = []
    for name in _modules():
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            ours = issubclass(obj, BaseException) and obj.__module__.startswith("probes")
            if ours and (obj.__module__ != "probes.errors" or not issubclass(obj, errors.ProbeError)):
                strays.append(f"{obj.__module__}.{obj.__qualname__}")
    assert strays == []


def test_no_module_raises_a_bare_builtin_on_purpose() -> None:
    found = []
    for path in sorted(PROBES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and hasattr(builtins, func.id) \
                        and func.id not in BUILTINS_ALLOWED:
                    found.append(f"{path.relative_to(PROBES)}:{node.lineno} {func.id}")
    assert found == []


@pytest.mark.parametrize("cls", [errors.SipParseError, errors.DigestParseError, errors.SdpParseError,
                                 errors.SdpNegotiationError, errors.MediaParseError])
def test_what_the_peer_sent_is_a_remote_protocol_error(cls: type[Exception]) -> None:
    assert issubclass(cls, errors.RemoteProtocolError)
    assert not issubclass(cls, errors.LocalProtocolError)


def test_bad_input_is_still_a_value_error_for_config_validators() -> None:
    assert issubclass(errors.SipUriError, ValueError)
    assert issubclass(errors.InvalidValue, errors.ProbeError)


def test_a_failure_carries_its_reason_and_an_inconclusive_one_says_so() -> None:
    dns = errors.DnsQueryError("DNS timeout: A example.net", timed_out=True)
    assert (dns.reason, dns.detail, dns.timed_out, dns.inconclusive) == (
        FailureReason.DNS, "DNS timeout: A example.net", True, False)
    late = errors.SnmpError(FailureReason.TIMEOUT, "ours", inconclusive=True)
    assert isinstance(late, errors.ProbeFailure) and late.inconclusive
    assert errors.NotComparable("'n/a' is not a number").reason is FailureReason.MALFORMED
