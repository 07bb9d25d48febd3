"""Real server processes for the tests and the benchmark harness.

Both ``tests/`` and ``bench/`` start ``hotline serve`` (and relays, Redis,
nginx) as real processes. Each runs in its own process group, so stopping it
reaches anything it spawned, and every process still running when the
interpreter exits is killed: no test or benchmark leaks a server.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
# Every process this interpreter started and has not reaped yet.
_LIVE: set[Daemon] = set()


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


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any ``HOTLINE_*`` setting, plus ``extra``.

    A developer's own settings (database, keys) must never leak into a
    server under test.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


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


class Daemon:
    """A process in its own process group, reaped by its owner or at exit."""

    def __init__(self, workdir: Path, name: str, log_name: str | None = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = workdir / (log_name or f"{name}.out")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} not started"
        return self.process.pid

    def _spawn(
        self,
        command: list[str],
        *,
        env: dict[str, str] | None = None,
        banner: str | None = None,
    ) -> None:
        assert not self.is_running, f"{self.name} already running"
        self._reap()
        with self.log_path.open("ab") as log:
            if banner:
                log.write(f"\n--- {banner} ---\n".encode())
                log.flush()
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Own process group: a signal reaches anything it spawns.
                start_new_session=True,
            )
        _LIVE.add(self)

    def kill(self) -> None:
        """SIGKILL the whole process group at once, as a crash would, and reap it."""
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

    def _signal(self, signum: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
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
        """The end of the process's combined stdout and stderr."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


@atexit.register
def _kill_leftovers() -> None:
    for daemon in list(_LIVE):
        daemon.kill()
