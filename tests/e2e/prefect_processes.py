"""A real Prefect server, a process worker and the `prefect` CLI as child processes.

Everything runs on loopback with its own PREFECT_HOME (SQLite), analytics off and proxy
variables removed (https://docs.prefect.io/v3/concepts/server; proxies and telemetry break an
offline start). Each child gets its own process group so that stopping it also stops what it started
(the worker's flow-run processes); output goes to log files under the test's folder, shown when
something fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PREFECT = str(Path(sys.executable).with_name("prefect"))
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOOPBACK = "127.0.0.1,localhost,::1"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log file, for failure messages."""
    if not path.exists():
        return f"({path} not written)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@dataclass
class Child:
    """One child process in its own process group, logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the child's process group, SIGKILL it if it does not exit in time."""
        if self.process.poll() is not None:
            return
        pgid = self.process.pid  # start_new_session=True: the group id is the child's pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # Flow-run processes of a worker share its group; make sure none is left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


@dataclass
class PrefectEnv:
    """Environment shared by every Prefect process of one end-to-end test."""

    home: Path
    logs: Path
    port: int = field(default_factory=free_port)
    extra: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, more: Mapping[str, str] | None = None) -> dict[str, str]:
        """os.environ without proxies, pointed at this server, plus ``extra`` and ``more``."""
        env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
        env.pop("PREFECT_API_KEY", None)
        env.pop("PREFECT_PROFILE", None)
        env.update(
            {
                "NO_PROXY": LOOPBACK,
                "no_proxy": LOOPBACK,
                "PREFECT_HOME": str(self.home),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_UI_API_URL": self.api_url,
                "PREFECT_UI_ENABLED": "true",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
                "PREFECT_CLI_PROMPT": "false",
                "PREFECT_LOGGING_LEVEL": "INFO",
                # Workers poll every 10 s by default; a test waits for one run.
                "PREFECT_WORKER_QUERY_SECONDS": "2",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra)
        env.update(more or {})
        return env

    def start(
        self, name: str, *args: str, cwd: Path, more: Mapping[str, str] | None = None
    ) -> Child:
        """Start ``prefect <args>`` in the background; it is stopped by :meth:`stop_all`."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [PREFECT, *args],
                cwd=cwd,
                env=self.env(more),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def run(
        self,
        *args: str,
        cwd: Path,
        more: Mapping[str, str] | None = None,
        timeout: float = 300,
    ) -> str:
        """Run ``prefect <args>`` to completion; return its output, fail with it on error."""
        result = subprocess.run(
            [PREFECT, *args],
            cwd=cwd,
            env=self.env(more),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise AssertionError(f"prefect {' '.join(args)} exited {result.returncode}:\n{output}")
        return output

    def start_server(self, *args: str, cwd: Path, timeout: float = 240) -> Child:
        """`prefect server start` on loopback with the UI (plus ``args``); wait until
        /api/health answers."""
        server = self.start(
            "server",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--analytics-off",
            "--ui",
            *args,
            cwd=cwd,
        )
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=5) as client:
            while time.monotonic() < deadline:
                if server.process.poll() is not None:
                    raise AssertionError(f"Prefect server exited:\n{tail(server.log)}")
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return server
                except httpx.HTTPError:
                    pass
                time.sleep(1)
        raise AssertionError(f"Prefect server not healthy after {timeout} s:\n{tail(server.log)}")

    def stop_all(self) -> None:
        """Stop every child, newest first (worker before server)."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()

    def logs_text(self) -> str:
        """The tail of every child's log, for a failure message."""
        return "\n\n".join(f"--- {c.name} ---\n{tail(c.log)}" for c in self.children)
