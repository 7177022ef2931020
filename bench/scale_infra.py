"""The processes of the scale run: PostgreSQL, a Prefect server, process workers.

Everything listens on 127.0.0.1 only, lives in temporary folders and is stopped by
:meth:`Processes.stop_all` (also on failure). PostgreSQL comes from Debian's ``postgresql``
package (installed with apt-get when missing and we are root); its cluster is made with
``initdb`` in a temporary folder and started with ``pg_ctl`` on a free port. As root, the
cluster runs as the package's ``postgres`` user (``initdb`` refuses root).

Prefect side: ``PREFECT_SERVER_DATABASE_CONNECTION_URL`` with the asyncpg driver
(https://docs.prefect.io/v3/how-to-guides/self-hosted/server-cli), proxies removed and
analytics off (loopback only, no telemetry).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PREFECT = str(Path(sys.executable).with_name("prefect"))
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
LOOPBACK = "127.0.0.1,localhost,::1"


class ScaleSetupError(Exception):
    """A process of the scale run could not be installed or started; says which and why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for error messages."""
    if not path.exists():
        return f"({path} not written)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


# ----- process trees (Linux /proc) ---------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now (the root first)."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        if alive(current):
            out.append(current)
        todo.extend(kids.get(current, []))
    return out


def rss_mib(pid: int) -> float:
    """Resident memory of one process in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def kill_tree(pid: int, sig: int = signal.SIGKILL) -> list[int]:
    """Send ``sig`` to ``pid`` and every descendant (a machine lost: nothing survives)."""
    pids = process_tree(pid)
    for target in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(target, sig)
    return pids


# ----- child processes ----------------------------------------------------------------------


@dataclass
class Child:
    """One background process in its own session, logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process tree, SIGKILL what is left after ``timeout``."""
        if not self.alive():
            kill_tree(self.process.pid)
            return
        pids = kill_tree(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass
class Processes:
    """Every process the scale run starts, so that all of them are stopped at the end."""

    logs: Path
    env: dict[str, str]
    children: list[Child] = field(default_factory=list)
    cleanups: list[tuple[str, object]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], *, cwd: Path, more: Mapping[str, str]) -> Child:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env={**self.env, **more},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def run(
        self, argv: list[str], *, cwd: Path, more: Mapping[str, str] | None = None, timeout=300
    ) -> str:
        """Run a command to completion; raise ScaleSetupError with its output on failure."""
        result = subprocess.run(
            argv,
            cwd=cwd,
            env={**self.env, **(more or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ScaleSetupError(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
            )
        return result.stdout + result.stderr

    def stop_all(self) -> None:
        """Stop children newest first (workers, then the server), then run the cleanups."""
        for child in reversed(self.children):
            child.stop()
        self.children.clear()
        for _name, cleanup in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                cleanup()  # type: ignore[operator]
        self.cleanups.clear()


def base_env(prefect_home: Path) -> dict[str, str]:
    """os.environ without proxies or Prefect profile, analytics off, loopback exempted."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    for key in ("PREFECT_API_KEY", "PREFECT_PROFILE", "PREFECT_API_URL"):
        env.pop(key, None)
    env.update(
        {
            "NO_PROXY": LOOPBACK,
            "no_proxy": LOOPBACK,
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_CLI_PROMPT": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "GX_ANALYTICS_ENABLED": "false",
        }
    )
    return env


# ----- PostgreSQL -----------------------------------------------------------------------------


def postgres_bin() -> Path:
    """The bin folder of Debian's PostgreSQL; installs the package when missing (as root)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_pg_version)
    if found:
        return Path(found[-1]).parent
    if os.geteuid() != 0:
        raise ScaleSetupError(
            "PostgreSQL is not installed: run `sudo apt-get install -y postgresql` "
            "(Debian/Ubuntu) and start `make scale` again"
        )
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
        print(f"scale: {' '.join(argv)}", flush=True)
        result = subprocess.run(
            argv,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            raise ScaleSetupError(f"{' '.join(argv)} failed:\n{result.stdout[-2000:]}")
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_pg_version)
    if not found:
        raise ScaleSetupError("apt-get installed postgresql but no pg_ctl was found")
    return Path(found[-1]).parent


def _pg_version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust authentication, loopback only)."""

    bin: Path
    root: Path
    port: int
    user: str = "prefect"
    database: str = "prefect"

    @property
    def url(self) -> str:
        """SQLAlchemy URL for Prefect's server (asyncpg driver)."""
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def _as_owner(self, argv: list[str]) -> list[str]:
        # initdb and postgres refuse to run as root; Debian's package made `postgres`.
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        result = subprocess.run(
            self._as_owner(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise ScaleSetupError(
                f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
                f"\n{tail(self.log)}"
            )

    def start(self) -> Postgres:
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres", group="postgres")
        self.root.chmod(0o700)
        self._run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c max_connections=200 -c shared_buffers=64MB"
        )
        self._run(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-w",
                "-t",
                "120",
                "-o",
                options,
                "start",
            ]
        )
        psql = str(self.bin / "psql")
        common = ["-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-v", "ON_ERROR_STOP=1"]
        self._run([psql, *common, "-d", "postgres", "-c", f"CREATE DATABASE {self.database}"])
        # Prefect's server wants pg_trgm (https://docs.prefect.io/v3/concepts/server).
        self._run([psql, *common, "-d", self.database, "-c", "CREATE EXTENSION pg_trgm"])
        return self

    def pids(self) -> list[int]:
        pid_file = self.data / "postmaster.pid"
        try:
            return process_tree(int(pid_file.read_text().splitlines()[0]))
        except (OSError, ValueError, IndexError):
            return []

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                           "-t", "60", "stop"])  # fmt: skip
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    """Install if needed, then initdb + pg_ctl start a cluster in a fresh temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="skubridge-scale-pg-"))
    pg = Postgres(bin=postgres_bin(), root=root, port=free_port())
    try:
        return pg.start()
    except BaseException:
        pg.stop()
        raise


def wait_healthy(api_url: str, server: Child, timeout: float) -> None:
    """Wait for ``/api/health`` of the Prefect server; fail with its log when it dies."""
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=5) as client:
        while time.monotonic() < deadline:
            if not server.alive():
                raise ScaleSetupError(f"Prefect server exited:\n{tail(server.log)}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{api_url}/health").status_code == 200:
                    return
            time.sleep(1)
    raise ScaleSetupError(f"Prefect server not healthy after {timeout} s:\n{tail(server.log)}")


# ----- memory sampling ---------------------------------------------------------------------------


@dataclass
class MemorySampler:
    """Peak resident memory per role, sampled every ``every`` seconds in a thread.

    Roles are callables returning root pids; per role: the peak of the sum over its
    process trees, of the root processes alone, and of the largest single descendant
    (for a worker: one flow-run process).
    """

    roles: dict[str, object]
    every: float = 2.0
    peaks: dict[str, float] = field(default_factory=dict)
    peak_root: dict[str, float] = field(default_factory=dict)
    peak_single: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        for role, roots in self.roles.items():
            total, single, first = 0.0, 0.0, 0.0
            for root in roots():  # type: ignore[operator]
                tree = process_tree(root)  # the root first, then its descendants
                sizes = [rss_mib(p) for p in tree]
                total += sum(sizes)
                first += sizes[0] if sizes else 0.0
                single = max([single, *sizes[1:]])
            self.peaks[role] = max(self.peaks.get(role, 0.0), total)
            self.peak_root[role] = max(self.peak_root.get(role, 0.0), first)
            self.peak_single[role] = max(self.peak_single.get(role, 0.0), single)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):
                self._sample()

    @contextlib.contextmanager
    def running(self) -> Iterator[MemorySampler]:
        self._thread = threading.Thread(target=self._loop, name="scale-memory", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=10)
