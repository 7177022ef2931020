"""A real Prefect server, a process worker and the `prefect` CLI as child processes.

Everything runs on loopback with its own PREFECT_HOME (SQLite), analytics off and proxy
variables removed (https://docs.prefect.io/v3/concepts/server; proxies and telemetry break an
offline start). The process plumbing is the scale run's (``bench/scale_infra.py``): each child
in its own session, stopped with its whole process tree (the worker's flow-run processes),
output in log files under the test's folder, shown when something fails.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.scale_infra import (
    PREFECT,
    Child,
    base_env,
    free_port,
    run_command,
    spawn,
    tail,
    wait_answering,
)

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

__all__ = ["UUID_RE", "Child", "PrefectEnv", "free_port", "tail"]


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
        env = base_env(self.home)
        env.update(
            {
                "PREFECT_API_URL": self.api_url,
                "PREFECT_UI_API_URL": self.api_url,
                "PREFECT_UI_ENABLED": "true",
                # Workers poll every 10 s by default; a test waits for one run.
                "PREFECT_WORKER_QUERY_SECONDS": "2",
            }
        )
        env.update(self.extra)
        env.update(more or {})
        return env

    def spawn(
        self, name: str, argv: list[str], *, cwd: Path, more: Mapping[str, str] | None = None
    ) -> Child:
        """Start ``argv`` in the background with :meth:`env`; stopped by :meth:`stop_all`."""
        child = spawn(name, argv, cwd=cwd, env=self.env(more), logs=self.logs)
        self.children.append(child)
        return child

    def start(
        self, name: str, *args: str, cwd: Path, more: Mapping[str, str] | None = None
    ) -> Child:
        """Start ``prefect <args>`` in the background; it is stopped by :meth:`stop_all`."""
        return self.spawn(name, [PREFECT, *args], cwd=cwd, more=more)

    def run(
        self,
        *args: str,
        cwd: Path,
        more: Mapping[str, str] | None = None,
        timeout: float = 300,
    ) -> str:
        """Run ``prefect <args>`` to completion; return its output, fail with it on error."""
        return run_command([PREFECT, *args], cwd=cwd, env=self.env(more), timeout=timeout)

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
        wait_answering(f"{self.api_url}/health", server, timeout, what="Prefect server")
        return server

    def stop_all(self) -> None:
        """Stop every child, newest first (worker before server)."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()

    def logs_text(self) -> str:
        """The tail of every child's log, for a failure message."""
        return "\n\n".join(f"--- {c.name} ---\n{tail(c.log, 60)}" for c in self.children)
