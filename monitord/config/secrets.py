"""Secrets in config come from files (`*_file`) or `${ENV}`, never inline.

A `*_file` value is read once, at load, so a missing or unreadable file is a
config error naming the key and line rather than a failure at 3 a.m. when the
secret is first used. The value is wrapped in pydantic's SecretStr: it does
not appear in reprs, logs, API output or metrics.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, SecretStr

MAX_SECRET_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class SecretFile:
    path: str
    value: SecretStr = field(repr=False)
    world_readable: bool = False

    def get(self) -> str:
        return self.value.get_secret_value()


def read_secret_file(raw: Any) -> SecretFile:
    if isinstance(raw, SecretFile):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected the path of a file holding the secret")
    path = Path(os.path.expanduser(raw.strip()))
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"secret file {str(path)!r} is not a regular file")
        if info.st_size > MAX_SECRET_BYTES:
            raise ValueError(f"secret file {str(path)!r} is larger than {MAX_SECRET_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"secret file {str(path)!r} does not exist") from None
    except PermissionError:
        raise ValueError(f"secret file {str(path)!r} is not readable by this user") from None
    except UnicodeDecodeError:
        raise ValueError(f"secret file {str(path)!r} is not UTF-8 text") from None
    except OSError as exc:
        raise ValueError(f"cannot read secret file {str(path)!r}: {exc.strerror}") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ValueError(f"secret file {str(path)!r} is empty")
    return SecretFile(str(path), SecretStr(value), bool(info.st_mode & stat.S_IROTH))


SecretFromFile = Annotated[SecretFile, BeforeValidator(read_secret_file)]


def secret_warnings(model: Any, path: str = "") -> list[str]:
    """Secret files anyone on the host can read: worth a warning, not a refusal."""
    from pydantic import BaseModel

    out: list[str] = []
    if isinstance(model, SecretFile):
        if model.world_readable:
            out.append(f"{path}: secret file {model.path!r} is readable by every user (chmod 600)")
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            out.extend(secret_warnings(getattr(model, name), f"{path}.{name}" if path else name))
    elif isinstance(model, list | tuple):
        for i, item in enumerate(model):
            out.extend(secret_warnings(item, f"{path}[{i}]"))
    return out
