"""Run ``hotline serve`` as a real subprocess for end-to-end tests.

Each server gets a temporary SQLite database and secret key, so a test never
touches the developer's ``instance/`` folder. Servers run in their own process
group and are killed (SIGKILL if need be) when the ``with`` block ends, and
again at interpreter exit as a last resort, so no test leaks a process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

from hotline.phones import PhoneVault

COUNSELOR_PASSWORD = "process-test-password"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# Every server this interpreter started and has not reaped yet.
_LIVE: set[HotlineServer] = set()


def hotline_command() -> list[str]:
    """The ``hotline`` console script of the running interpreter's environment."""
    script = shutil.which("hotline", path=str(Path(sys.executable).parent))
    if script is not None:
        return [script]
    return [sys.executable, "-c", "from hotline.cli import main; main()"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


class HotlineServer:
    """One ``hotline serve`` process on a fixed port with its own database.

    The port and database stay the same across ``kill()`` and ``start()``, so
    a test can crash the server and bring it back where clients expect it.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_path = workdir / "hotline.sqlite3"
        self.log_path = workdir / "server.log"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("HOTLINE_")
        }
        self.env.update(
            HOTLINE_DATABASE_URL=f"sqlite:///{self.database_path}",
            HOTLINE_SECRET_KEY=secrets.token_urlsafe(32),
            HOTLINE_PHONE_KEYS=PhoneVault.generate_key(),
            # Quick exit must never leave loopback during tests.
            HOTLINE_QUICK_EXIT_URL=f"{self.base_url}/api/health",
            PYTHONUNBUFFERED="1",
        )
        self.env.update(env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def run_cli(self, *args: str, stdin: str = "", timeout: float = 60.0) -> str:
        """Run ``hotline ARGS`` with this server's environment; return its output."""
        result = subprocess.run(
            [*hotline_command(), *args],
            input=stdin.encode(),
            capture_output=True,
            cwd=self.workdir,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        output = (result.stdout + result.stderr).decode(errors="replace")
        if result.returncode != 0:
            raise RuntimeError(f"hotline {' '.join(args)} failed:\n{output}")
        return output

    def upgrade(self) -> None:
        """Migrate the database to head."""
        self.run_cli("db", "upgrade")

    def create_user(
        self, username: str, password: str = COUNSELOR_PASSWORD, role: str = "counselor"
    ) -> None:
        """Create a staff account through the CLI (password on stdin)."""
        self.run_cli("users", "create", username, "--role", role, stdin=password + "\n")

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start serving and return once ``/api/health`` answers."""
        assert not self.is_running, "server already running"
        self._reap()
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start #{self.starts + 1} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [
                    *hotline_command(),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: kill() reaches anything serve spawns.
                start_new_session=True,
            )
        self.starts += 1
        _LIVE.add(self)
        try:
            wait_for(self._healthy, timeout, f"{self.base_url}/api/health")
        except BaseException:
            self.kill()
            raise

    def _healthy(self) -> bool:
        if not self.is_running:
            raise RuntimeError(f"hotline serve exited early:\n{self.log_tail()}")
        try:
            with requests.get(f"{self.base_url}/api/health", timeout=1) as response:
                return response.status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """SIGKILL the server at once, as a crash would, and reap it."""
        self._signal(signal.SIGKILL)
        self._reap()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop gracefully (SIGTERM), escalating to SIGKILL after ``timeout``."""
        if not self.is_running:
            self._reap()
            return
        self._signal(signal.SIGTERM)
        assert self.process is not None
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
        self._reap()

    def restart_after_crash(self, timeout: float = START_TIMEOUT) -> None:
        """SIGKILL, then start again on the same port with the same database."""
        self.kill()
        self.start(timeout)

    def _signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def _reap(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
            self.process = None
        _LIVE.discard(self)

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's combined stdout and stderr."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


@contextlib.contextmanager
def running_server(
    workdir: Path,
    *,
    counselors: tuple[str, ...] = ("ana",),
    env: dict[str, str] | None = None,
) -> Iterator[HotlineServer]:
    """A migrated, running server with counsellor accounts; always stopped after."""
    server = HotlineServer(workdir, env=env)
    try:
        server.upgrade()
        for username in counselors:
            server.create_user(username)
        server.start()
        yield server
    finally:
        server.stop()


def login_cookie_header(base_url: str, username: str, password: str) -> str:
    """Sign in through ``POST /api/auth/login``; the ``Cookie`` header to reuse."""
    with requests.Session() as http:
        response = http.post(
            f"{base_url}/api/auth/login",
            json={"username": username, "password": password},
            timeout=10,
        )
        response.raise_for_status()
        return "; ".join(f"{name}={value}" for name, value in http.cookies.items())


@atexit.register
def _kill_leftovers() -> None:
    for server in list(_LIVE):
        server.kill()
