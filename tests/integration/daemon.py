"""Runs the real `monitord run` as a child process for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml


class DaemonProcess:
    def __init__(self, workdir: Path, port: int, config: dict[str, Any]) -> None:
        self.workdir = workdir
        self.port = port
        self.config_path = workdir / "monitord.yaml"
        config.setdefault("daemon", {})
        config["daemon"].setdefault("listen", f"127.0.0.1:{port}")
        config["daemon"].setdefault("storage", str(workdir / "monitord.db"))
        config["daemon"].setdefault("heartbeat_interval", "1s")
        self.config_path.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "monitord.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitord", "run", "--config", str(self.config_path)],
            stdout=log,
            stderr=log,
            cwd=self.workdir,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"monitord exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.get("/healthz")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"monitord did not answer /healthz in {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"monitord ignored signal {sig}:\n{self.log_tail()}") from None

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as resp:
            body = resp.read()
        return json.loads(body) if path.startswith(("/api", "/healthz")) else body.decode()

    def post(self, path: str, body: Any = None, token: str | None = None,
             timeout: float = 5.0) -> tuple[int, Any]:
        """POST `body` as JSON (nothing when None) to the API: its status and JSON answer."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method="POST",
            data=b"" if body is None else json.dumps(body).encode(),
            headers={} if body is None else {"Content-Type": "application/json"},
        )
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def healthz(self) -> dict[str, Any]:
        """/healthz whether it answers 200 or 503 (the body says why)."""
        try:
            body: dict[str, Any] = self.get("/healthz")
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise
            body = json.loads(exc.read())
        return body

    def log_records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    def log_tail(self, n: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def wait_for(self, what: str, predicate: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.log_tail()}")

    def check(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/v1/checks/{name}")
        return result
