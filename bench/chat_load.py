"""Chat load: many residents and counsellors on real sockets, latency and loss.

One asyncio process drives every client with python-socketio's AsyncClient
(websocket transport only). A run against one target:

1. start the server under test on a free 127.0.0.1 port with a fresh database
   (Hotline) or no database at all (the bare relay, ``bench.relay_baseline``);
   a two-worker target starts two servers on two ports, linked by Redis;
2. connect ``residents`` resident sockets and ``counselors`` console sockets,
   spread over the workers; the counsellors claim the first ``active``
   conversations, spread evenly;
3. each active resident sends ``rate`` messages a second on a fixed schedule
   (open loop: the next send never waits for the previous ack) for
   ``warmup + duration`` seconds; counsellors answer a ``reply_fraction`` of
   what they receive, at once;
4. wait for stragglers until nothing arrives for ``drain`` seconds, then
   count: every acked message must reach the other side exactly once and
   come back to its sender's side exactly once, with the seq of its ack.

Latency is measured in this process with one monotonic clock: send time is
kept by ``client_id``, so no clock in the server is trusted. Only messages
sent after the warm-up count towards latency; every message counts towards
loss and duplicates.

The **surge** profile (``LoadProfile.surge``) claims nothing: ``residents``
wait, ``active`` of them write while waiting, and ``counselors`` consoles
watch the queue. A waiting resident's message reaches the console as a
``queue_item`` push (or an item of a ``queue`` page) whose
``message_count`` covers it (that is its "delivery"); every push a console
receives is counted and sized (its JSON as python-socketio encodes it),
and the server's memory before and after the residents connect gives the
cost of an idle resident connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import socketio

from bench.relay_baseline import relay_token
from devtools.processes import Daemon, clean_env, free_port, hotline_command, wait_for
from hotline.phones import PhoneVault

ROOT = Path(__file__).resolve().parent.parent
CHAT_NAMESPACE = "/chat"
CONSOLE_NAMESPACE = "/console"
COUNSELOR_PASSWORD = "bench-password-long-enough"
START_TIMEOUT = 60.0
CLAIM_TIMEOUT = 30.0
# Ordinary resident talk: no triage signal should make it special.
FILLER = "今天心情不太好，想找人聊聊。I just need someone to talk to tonight. "


@dataclass(frozen=True)
class LoadProfile:
    """How much load, for how long."""

    name: str = "default"
    residents: int = 500
    active: int = 100
    counselors: int = 10
    duration: float = 60.0
    warmup: float = 5.0
    rate: float = 1.0
    reply_fraction: float = 0.2
    drain: float = 5.0
    settle: float = 3.0
    body_chars: int = 60
    connect_concurrency: int = 50
    seed: int = 9
    # Nobody is claimed: everyone waits, ``active`` of them write.
    surge: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.active <= self.residents:
            raise ValueError("need 0 < active <= residents")
        if self.counselors < 1 or self.rate <= 0 or self.duration <= 0:
            raise ValueError("need counselors >= 1, rate > 0 and duration > 0")


DEFAULT_PROFILE = LoadProfile()
QUICK_PROFILE = LoadProfile(
    name="quick",
    residents=150,
    active=40,
    counselors=5,
    duration=15.0,
    warmup=2.0,
    drain=3.0,
    settle=1.0,
)
# Issue 20: a district at once. N waiting, T of them writing once a second,
# C consoles open; nothing claimed, nobody replies.
SURGE_PROFILE = LoadProfile(
    name="surge",
    residents=2000,
    active=100,
    counselors=1,
    duration=30.0,
    warmup=5.0,
    reply_fraction=0.0,
    settle=3.0,
    surge=True,
)
QUICK_SURGE_PROFILE = replace(
    SURGE_PROFILE,
    name="surge-quick",
    residents=200,
    active=20,
    duration=6.0,
    warmup=1.0,
    drain=3.0,
    settle=1.0,
)


# --------------------------------------------------------------------------
# Server processes


class ServerProcess(Daemon):
    """A server under benchmark, ready once ``ready_path`` answers 200."""

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str],
        workdir: Path,
        port: int,
        ready_path: str,
        log_name: str = "server",
    ) -> None:
        super().__init__(workdir, log_name, log_name=f"{log_name}.log")
        self.command = list(command)
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ready_url = self.url + ready_path

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the process and return once ``ready_path`` answers 200."""
        self._spawn(self.command, env=self.env)
        try:
            wait_for(self._is_ready, timeout, self.ready_url, interval=0.1)
        except BaseException:
            self.kill()
            raise

    def _is_ready(self) -> bool:
        if not self.is_running:
            raise RuntimeError(f"server exited early:\n{self.log_tail(3000)}")
        try:
            with urllib.request.urlopen(self.ready_url, timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False


@dataclass(frozen=True)
class Seat:
    """One resident: the conversation and the token that opens it."""

    conversation_id: int
    token: str


class Target:
    """The server processes under test and the credentials their clients need."""

    name = "target"

    def __init__(self, async_mode: str, workdir: Path) -> None:
        self.async_mode = async_mode
        self.workdir = workdir
        self.seats: list[Seat] = []
        self.servers: list[ServerProcess] = []

    @property
    def urls(self) -> list[str]:
        """One URL per worker process; clients are spread over them."""
        return [server.url for server in self.servers]

    @property
    def pids(self) -> list[int]:
        return [server.pid for server in self.servers]

    async def prepare(self, profile: LoadProfile) -> None:
        """Create data, start the servers, sign in."""
        raise NotImplementedError

    def console_options(self, index: int) -> dict[str, Any]:
        """``connect`` keyword arguments for counsellor ``index``."""
        raise NotImplementedError

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def log_tail(self, chars: int) -> str:
        """The end of every server's output."""
        if len(self.servers) == 1:
            return self.servers[0].log_tail(chars)
        return "\n".join(
            f"--- {server.log_path.name}\n{server.log_tail(chars)}"
            for server in self.servers
        )

    def stored_messages(self) -> int | None:
        """Messages the server persisted, when it persists anything."""
        return None


class HotlineTarget(Target):
    """``hotline serve`` on a fresh SQLite database."""

    name = "hotline"
    workers = 1

    def __init__(self, async_mode: str, workdir: Path) -> None:
        super().__init__(async_mode, workdir)
        self.database_path = workdir / "hotline.sqlite3"
        self.database_url = f"sqlite:///{self.database_path}"
        # Shared by every worker: a cookie signed by one is read by another.
        self.secret_key = secrets.token_urlsafe(32)
        self.phone_keys = PhoneVault.generate_key()
        self.cookies: list[str] = []

    async def prepare(self, profile: LoadProfile) -> None:
        await asyncio.to_thread(self.create_database)
        self.seats, usernames = await asyncio.to_thread(
            seed_hotline, self.database_url, profile.residents, profile.counselors
        )
        # Seeding made the counsellors, so no worker creates a first admin:
        # the workers may start side by side.
        self.servers = [self._worker(index + 1) for index in range(self.workers)]
        await asyncio.gather(
            *(asyncio.to_thread(server.start) for server in self.servers)
        )
        self.cookies = [await self._sign_in(name) for name in usernames]

    def _worker(self, number: int) -> ServerProcess:
        port = free_port()
        env = clean_env(
            HOTLINE_DATABASE_URL=self.database_url,
            HOTLINE_SECRET_KEY=self.secret_key,
            HOTLINE_PHONE_KEYS=self.phone_keys,
            HOTLINE_ASYNC_MODE=self.async_mode,
            HOTLINE_QUICK_EXIT_URL=f"http://127.0.0.1:{port}/api/health",
            # Counsellors here answer faster than a person could type; the
            # per-connection limit would refuse them. Residents stay at 1/s.
            HOTLINE_MESSAGE_RATE="1000",
            HOTLINE_MESSAGE_BURST="1000",
            HOTLINE_RATELIMIT_ENABLED="0",
            # Each bench counsellor holds active/counselors chats (10 at the
            # default load), past the per-person load limits of the console.
            HOTLINE_MAX_CONVERSATIONS="1000",
            HOTLINE_MAX_HIGH_RISK="1000",
            **self.message_queue_env(),
        )
        return ServerProcess(
            [*hotline_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            workdir=self.workdir,
            port=port,
            ready_path="/api/health",
            log_name="server" if self.workers == 1 else f"worker-{number}",
        )

    def message_queue_env(self) -> dict[str, str]:
        """``HOTLINE_*`` settings that link the workers (none for one worker)."""
        return {}

    async def _sign_in(self, username: str) -> str:
        import aiohttp

        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{self.urls[0]}/api/auth/login",
                json={"username": username, "password": COUNSELOR_PASSWORD},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response,
        ):
            if response.status != 200:
                body = await response.text()
                raise RuntimeError(f"login {username}: {response.status} {body}")
            morsel = response.cookies.get("session")
            if morsel is None:
                raise RuntimeError(f"login {username}: no session cookie")
            return f"session={morsel.value}"

    def console_options(self, index: int) -> dict[str, Any]:
        return {"headers": {"Cookie": self.cookies[index]}}

    def create_database(self) -> None:
        """Nothing to do for SQLite: migrating creates the file."""

    def stored_messages(self) -> int | None:
        with contextlib.closing(sqlite3.connect(self.database_path)) as connection:
            row = connection.execute("SELECT count(*) FROM messages").fetchone()
            return int(row[0])


class HotlinePostgresTarget(HotlineTarget):
    """``hotline serve`` on a fresh PostgreSQL database, dropped afterwards.

    ``POSTGRES_URL`` names a server and an account allowed to create databases
    (``--postgres`` sets it); the run's database carries this process's id.
    """

    name = "hotline-pg"
    admin_url: str | None = None

    def __init__(self, async_mode: str, workdir: Path) -> None:
        super().__init__(async_mode, workdir)
        if self.admin_url is None:
            raise RuntimeError("no PostgreSQL URL given (--postgres)")
        from sqlalchemy import make_url

        self.database_name = f"hotline_bench_{os.getpid()}_{workdir.name}".replace(
            "-", "_"
        )
        self.database_url = (
            make_url(self.admin_url)
            .set(database=self.database_name)
            .render_as_string(hide_password=False)
        )

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        assert self.admin_url is not None
        engine = create_engine(
            self.admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def create_database(self) -> None:
        self._admin(f'CREATE DATABASE "{self.database_name}"')

    def stored_messages(self) -> int | None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.database_url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                return int(connection.scalar(text("SELECT count(*) FROM messages")))
        finally:
            engine.dispose()

    def stop(self) -> None:
        super().stop()
        with contextlib.suppress(Exception):
            self._admin(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')


class HotlineTwoWorkerTarget(HotlinePostgresTarget):
    """Two ``hotline serve`` workers on one PostgreSQL database, linked by Redis.

    Clients are spread over both ports (see ``worker_of_resident``), so about
    half the talking conversations have their resident on one worker and
    their counsellor on the other: those messages cross through Redis.
    ``redis_url`` (``--redis``) names the server; the run's pub/sub channel
    is its own, because channels are shared by every Redis database number
    and concurrent runs must not hear each other.
    """

    name = "hotline-2w"
    workers = 2
    redis_url = "redis://127.0.0.1:6379/0"

    def __init__(self, async_mode: str, workdir: Path) -> None:
        super().__init__(async_mode, workdir)
        self.channel = f"hotline-bench-{os.getpid()}-{secrets.token_hex(6)}"

    def message_queue_env(self) -> dict[str, str]:
        return {
            "HOTLINE_MESSAGE_QUEUE": self.redis_url,
            "HOTLINE_MESSAGE_QUEUE_CHANNEL": self.channel,
        }


def seed_hotline(
    database_url: str, residents: int, counselors: int
) -> tuple[list[Seat], list[str]]:
    """Migrate, create counsellors and waiting conversations through the services.

    Conversations are made here rather than with ``POST /api/chat``: that
    endpoint is rate-limited per address and broadcasts the queue each time,
    which is not the load being measured.
    """
    from sqlalchemy.orm import Session

    from hotline.database import make_engine
    from hotline.migrate import upgrade
    from hotline.models import Role
    from hotline.services.accounts import create_user
    from hotline.services.conversations import start_conversation

    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            usernames = [f"bench-counselor-{i + 1}" for i in range(counselors)]
            for username in usernames:
                create_user(session, username, COUNSELOR_PASSWORD, Role.COUNSELOR)
            seats = [
                Seat(*start_conversation(session, "zh" if i % 3 else "en"))
                for i in range(residents)
            ]
            # Services never commit (hotline.database): the set-up does.
            session.commit()
    finally:
        engine.dispose()
    return seats, usernames


class RelayTarget(Target):
    """The bare python-socketio relay of ``bench.relay_baseline``."""

    name = "relay"

    async def prepare(self, profile: LoadProfile) -> None:
        self.seats = [
            Seat(i, relay_token(i, secrets.token_hex(8)))
            for i in range(1, profile.residents + 1)
        ]
        port = free_port()
        pythonpath = os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        server = ServerProcess(
            [
                sys.executable,
                "-m",
                "bench.relay_baseline",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--async-mode",
                self.async_mode,
                *self.relay_options(),
            ],
            env=clean_env(PYTHONPATH=pythonpath),
            workdir=self.workdir,
            port=port,
            ready_path="/socket.io/?EIO=4&transport=polling",
        )
        self.servers = [server]
        await asyncio.to_thread(server.start)

    def console_options(self, index: int) -> dict[str, Any]:
        return {"auth": {"counselor_id": index + 1}}

    def relay_options(self) -> list[str]:
        """Extra ``bench.relay_baseline`` arguments."""
        return []


class DurableRelayTarget(RelayTarget):
    """The relay storing each message with one INSERT + COMMIT in a SQLite
    file (Hotline's settings) before pushing and acknowledging it."""

    name = "relay-durable"

    def __init__(self, async_mode: str, workdir: Path) -> None:
        super().__init__(async_mode, workdir)
        self.database_path = workdir / "relay.sqlite3"

    def relay_options(self) -> list[str]:
        return ["--database", str(self.database_path)]

    def stored_messages(self) -> int | None:
        with contextlib.closing(sqlite3.connect(self.database_path)) as connection:
            row = connection.execute("SELECT count(*) FROM messages").fetchone()
            return int(row[0])


TARGETS: dict[str, type[Target]] = {
    "hotline": HotlineTarget,
    "hotline-pg": HotlinePostgresTarget,
    "hotline-2w": HotlineTwoWorkerTarget,
    "relay": RelayTarget,
    "relay-durable": DurableRelayTarget,
}


# --------------------------------------------------------------------------
# Process sampling (psutil when installed, /proc otherwise)


@dataclass(frozen=True)
class ProcessSample:
    at: float
    cpu_seconds: float
    rss_bytes: int
    threads: int


def sample_process(pid: int) -> ProcessSample | None:
    """CPU time, resident memory and thread count of ``pid`` now."""
    now = time.perf_counter()
    try:
        import psutil
    except ImportError:
        return _sample_proc(pid, now)
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            cpu = process.cpu_times()
            return ProcessSample(
                now,
                cpu.user + cpu.system,
                process.memory_info().rss,
                process.num_threads(),
            )
    except psutil.Error:
        return None


def sample_processes(pids: Sequence[int]) -> ProcessSample | None:
    """``sample_process`` summed over several processes (the workers of one
    target); None unless every one of them answered."""
    samples = [sample_process(pid) for pid in pids]
    if not samples or any(sample is None for sample in samples):
        return None
    known = [sample for sample in samples if sample is not None]
    return ProcessSample(
        time.perf_counter(),
        sum(sample.cpu_seconds for sample in known),
        sum(sample.rss_bytes for sample in known),
        sum(sample.threads for sample in known),
    )


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores.

    On a shared machine other people's work competes with the server; the
    report shows how much of the machine was busy besides the benchmark.
    """
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split()[1:9]]
    except (OSError, ValueError):
        return math.nan, math.nan
    ticks = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal
    idle = fields[3] + fields[4]
    total = sum(fields)
    return (total - idle) / ticks, total / ticks


# The database and message-queue servers: their CPU is reported apart from
# "others". Whole servers, so other users of them on this machine count too.
SERVICE_COMMANDS = ("postgres", "redis-server")


def service_cpu_seconds() -> float:
    """CPU seconds used so far by every PostgreSQL and Redis server process.

    Exited children count too (through their parent's ``cutime``/``cstime``):
    PostgreSQL forks a backend per connection.
    """
    total = 0
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return math.nan
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() not in SERVICE_COMMANDS:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: the 14th to 17th fields of the line.
        total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def _sample_proc(pid: int, now: float) -> ProcessSample | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are the
    # 14th and 15th fields of the whole line.
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    values = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(values.get("VmRSS", "0 kB").split()[0]) * 1024
    threads = int(values.get("Threads", "0").strip())
    return ProcessSample(now, cpu, rss, threads)


# --------------------------------------------------------------------------
# Bookkeeping


@dataclass
class Outgoing:
    """One message a client sent, and what became of it."""

    origin: str  # "resident" or "counselor"
    conversation_id: int
    sent_at: float
    measured: bool
    acked_at: float | None = None
    seq: int | None = None
    error: str | None = None
    delivered_at: float | None = None
    delivered_seq: int | None = None
    deliveries: int = 0
    echoes: int = 0


class Ledger:
    """Every message sent in a run, keyed by ``client_id``."""

    def __init__(self) -> None:
        self.messages: dict[str, Outgoing] = {}
        self.unexpected = 0
        # Surge: each conversation's resident messages in sending order, and
        # how many of them a console's queue item has covered so far.
        self.in_order: dict[int, list[Outgoing]] = {}
        self.covered: dict[int, int] = {}

    def sent(
        self, client_id: str, origin: str, conversation_id: int, measured: bool
    ) -> None:
        """Note a message as it is emitted."""
        record = Outgoing(origin, conversation_id, time.perf_counter(), measured)
        self.messages[client_id] = record
        if origin == "resident":
            self.in_order.setdefault(conversation_id, []).append(record)

    def queue_item(self, payload: Any) -> None:
        """A console's queue item: the first ``message_count`` messages of a
        waiting conversation have reached the console (once each)."""
        if not isinstance(payload, dict):
            return
        conversation_id = payload.get("conversation_id")
        count = payload.get("message_count")
        if not isinstance(conversation_id, int) or not isinstance(count, int):
            return
        now = time.perf_counter()
        sent = self.in_order.get(conversation_id, [])
        done = self.covered.get(conversation_id, 0)
        for record in sent[done : min(count, len(sent))]:
            record.deliveries += 1
            record.delivered_at = now
            record.delivered_seq = record.seq
        self.covered[conversation_id] = max(done, min(count, len(sent)))

    def acked(self, client_id: str, ack: Any) -> None:
        record = self.messages[client_id]
        record.acked_at = time.perf_counter()
        if isinstance(ack, dict) and ack.get("ok") is True:
            record.seq = ack.get("seq")
        else:
            error = ack.get("error") if isinstance(ack, dict) else None
            record.error = (
                str(error.get("code")) if isinstance(error, dict) else repr(ack)[:40]
            )

    def received(self, side: str, payload: Any) -> Outgoing | None:
        """Note a ``message`` push arriving at ``side``; returns its record."""
        now = time.perf_counter()
        client_id = payload.get("client_id") if isinstance(payload, dict) else None
        record = self.messages.get(client_id) if isinstance(client_id, str) else None
        if record is None:
            self.unexpected += 1
            return None
        if side == record.origin:
            record.echoes += 1
        else:
            record.deliveries += 1
            if record.delivered_at is None:
                record.delivered_at = now
                record.delivered_seq = payload.get("seq")
        return record


# --------------------------------------------------------------------------
# Clients


def _client() -> socketio.AsyncClient:
    return socketio.AsyncClient(reconnection=False, handle_sigint=False)


class Participant:
    """One socket and the bookkeeping every client shares."""

    side = "participant"
    namespace = "/"

    def __init__(self, ledger: Ledger, run: RunState) -> None:
        self.ledger = ledger
        self.run = run
        self.sio = _client()
        self.sio.on("message", self._on_message, namespace=self.namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=self.namespace)
        self.sent = 0

    async def connect(self, url: str, **options: Any) -> None:
        await self.sio.connect(
            url,
            namespaces=[self.namespace],
            transports=["websocket"],
            wait_timeout=30,
            **options,
        )

    async def disconnect(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)
        # engine.io closes its HTTP session only when the disconnect runs to
        # the end; after a timeout or an interrupt it would leak ("Unclosed
        # client session" at exit).
        http = self.sio.eio.http
        if http is not None and not http.closed:
            await http.close()

    async def _on_message(self, payload: Any) -> None:
        self.ledger.received(self.side, payload)

    async def _on_disconnect(self, *reason: Any) -> None:
        if not self.run.closing:
            self.run.disconnects += 1
            self.run.dropped.append(
                (
                    self.side,
                    round(time.perf_counter() - self.run.sending_from, 1),
                    str(reason[0]) if reason else "",
                )
            )

    async def send(self, payload: dict[str, Any], conversation_id: int) -> None:
        """Emit ``message`` with an ack callback; never waits for the ack."""
        self.sent += 1
        tag = secrets.token_hex(4)
        client_id = f"{self.side[0]}{conversation_id}x{self.sent}x{tag}"
        payload = {**payload, "client_id": client_id}
        self.ledger.sent(
            client_id, self.side, conversation_id, measured=self.run.is_measuring()
        )
        try:
            await self.sio.emit(
                "message",
                payload,
                namespace=self.namespace,
                callback=lambda ack=None: self.ledger.acked(client_id, ack),
            )
        except socketio.exceptions.SocketIOError as error:
            self.ledger.messages[client_id].error = type(error).__name__


class Resident(Participant):
    side = "resident"
    namespace = CHAT_NAMESPACE

    def __init__(self, seat: Seat, ledger: Ledger, run: RunState) -> None:
        super().__init__(ledger, run)
        self.seat = seat

    async def talk(self, start: float, end: float, rate: float, phase: float) -> None:
        """Send on a fixed schedule from ``start`` to ``end`` (perf_counter)."""
        body = _body(self.run.profile.body_chars)
        count = 0
        while True:
            due = start + phase + count / rate
            if due >= end:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.run.send_lag.append(time.perf_counter() - due)
            await self.send({"body": body}, self.seat.conversation_id)
            count += 1


class Counselor(Participant):
    side = "counselor"
    namespace = CONSOLE_NAMESPACE

    def __init__(self, ledger: Ledger, run: RunState) -> None:
        super().__init__(ledger, run)
        self.holds: list[int] = []
        self.reply_credit = 0.0
        self.sio.on("queue_item", self._on_queue_item, namespace=self.namespace)
        self.sio.on("queue", self._on_queue, namespace=self.namespace)
        # Every other push, sized (``message`` is not: the surge has none).
        self.sio.on("*", self._on_push, namespace=self.namespace)

    async def _on_queue_item(self, payload: Any) -> None:
        self.run.pushes.note("queue_item", payload)
        self.ledger.queue_item(payload)

    async def _on_queue(self, payload: Any) -> None:
        # The queue's first page shows its items' messages too.
        self.run.pushes.note("queue", payload)
        items = payload.get("items") if isinstance(payload, dict) else None
        for item in items if isinstance(items, list) else []:
            self.ledger.queue_item(item)

    async def _on_push(self, event: str, *args: Any) -> None:
        self.run.pushes.note(event, args[0] if args else None)

    async def claim_all(self) -> None:
        for conversation_id in self.holds:
            ack = await self.sio.call(
                "claim",
                {"conversation_id": conversation_id},
                namespace=self.namespace,
                timeout=CLAIM_TIMEOUT,
            )
            if not (isinstance(ack, dict) and ack.get("ok")):
                raise RuntimeError(f"claim {conversation_id} failed: {ack}")

    async def _on_message(self, payload: Any) -> None:
        record = self.ledger.received(self.side, payload)
        if record is None or record.origin != "resident" or not self.run.is_sending():
            return
        # Deterministic share of replies, spread over the counsellor's chats.
        self.reply_credit += self.run.profile.reply_fraction
        if self.reply_credit >= 1:
            self.reply_credit -= 1
            await self.send(
                {
                    "conversation_id": record.conversation_id,
                    "body": _body(self.run.profile.body_chars // 2),
                },
                record.conversation_id,
            )


def _body(chars: int) -> str:
    text = FILLER * (chars // len(FILLER) + 1)
    return text[: max(chars, 1)]


# --------------------------------------------------------------------------
# The run


@dataclass
class RunState:
    """Clock marks and counters the clients share during one run."""

    profile: LoadProfile
    sending_from: float = math.inf
    measuring_from: float = math.inf
    sending_until: float = -math.inf
    closing: bool = False
    disconnects: int = 0
    # (side, seconds after sending began, reason) of each socket dropped.
    dropped: list[tuple[str, float, str]] = field(default_factory=list)
    send_lag: list[float] = field(default_factory=list)
    pushes: PushLog = field(default_factory=lambda: PushLog())

    def is_sending(self) -> bool:
        return self.sending_from <= time.perf_counter() < self.sending_until

    def is_measuring(self) -> bool:
        return self.measuring_from <= time.perf_counter() < self.sending_until


class PushLog:
    """Pushes the consoles received: how many and how big, per event."""

    def __init__(self) -> None:
        self.count: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.largest: dict[str, int] = {}

    def note(self, event: str, payload: Any) -> None:
        # The JSON python-socketio sends (its default encoder, compact).
        size = len(json.dumps(payload, separators=(",", ":")).encode())
        self.count[event] += 1
        self.bytes[event] += size
        self.largest[event] = max(self.largest.get(event, 0), size)


@dataclass
class Stats:
    """Latency distribution in milliseconds."""

    count: int = 0
    p50: float = math.nan
    p95: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    mean: float = math.nan

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Stats:
        if not seconds:
            return cls()
        values = sorted(value * 1000 for value in seconds)

        def rank(q: float) -> float:
            # Nearest rank: the smallest value with at least q of them at or below.
            return values[max(0, math.ceil(q * len(values)) - 1)]

        return cls(
            count=len(values),
            p50=rank(0.50),
            p95=rank(0.95),
            p99=rank(0.99),
            max=values[-1],
            mean=sum(values) / len(values),
        )


@dataclass
class RunResult:
    """What one run measured."""

    target: str
    async_mode: str
    profile: LoadProfile
    connect_seconds: float = 0.0
    claim_seconds: float = 0.0
    connect_errors: int = 0
    disconnects: int = 0
    dropped: list[tuple[str, float, str]] = field(default_factory=list)
    sent: int = 0
    acked: int = 0
    error_acks: dict[str, int] = field(default_factory=dict)
    unacked: int = 0
    lost: int = 0
    lost_echoes: int = 0
    duplicated: int = 0
    seq_mismatches: int = 0
    unexpected: int = 0
    stored: int | None = None
    resident_to_counselor: Stats = field(default_factory=Stats)
    counselor_to_resident: Stats = field(default_factory=Stats)
    resident_ack: Stats = field(default_factory=Stats)
    counselor_ack: Stats = field(default_factory=Stats)
    throughput: float = 0.0
    server_cpu_percent: float = math.nan
    server_rss_idle_mb: float = math.nan
    server_rss_peak_mb: float = math.nan
    server_threads_peak: int = 0
    # Server processes of the target; CPU, RSS and threads are their sums.
    workers: int = 1
    # Talking conversations whose resident and counsellor are on different
    # workers (their messages go through the message queue).
    cross_worker: int = 0
    client_cpu_percent: float = math.nan
    # PostgreSQL and Redis (whole servers), % of one core.
    services_cpu_percent: float = math.nan
    machine_busy_percent: float = math.nan
    other_cpu_percent: float = math.nan
    send_lag_p99_ms: float = math.nan
    # Worst r→c delivery (ms) of the messages sent in each measured second:
    # periodic stalls show up here as a rhythm.
    worst_by_second: list[float] = field(default_factory=list)
    # 1, 2, ... when the matrix was repeated; 0 for a single pass.
    repeat: int = 0
    failure: str | None = None
    # Server memory once started, before any client connected.
    server_rss_start_mb: float = math.nan
    # Console pushes by event: count, total and largest JSON bytes.
    pushes: dict[str, int] = field(default_factory=dict)
    push_bytes: dict[str, int] = field(default_factory=dict)
    push_bytes_max: dict[str, int] = field(default_factory=dict)

    @property
    def largest_push(self) -> int:
        """The largest console push of the run, in bytes (0 if none)."""
        return max(self.push_bytes_max.values(), default=0)

    @property
    def rss_per_resident_kb(self) -> float:
        """Server memory per idle resident connection: RSS once everyone
        connected (and settled) less RSS before, over the residents."""
        grown = self.server_rss_idle_mb - self.server_rss_start_mb
        return 1024 * grown / self.profile.residents

    @property
    def label(self) -> str:
        return f"{self.target}/{self.async_mode}"

    @property
    def run_label(self) -> str:
        return f"{self.label} #{self.repeat}" if self.repeat else self.label

    @property
    def is_clean(self) -> bool:
        """No loss, no duplicate, no error, nothing unacked."""
        return not (
            self.failure
            or self.connect_errors
            or self.disconnects
            or self.error_acks
            or self.unacked
            or self.lost
            or self.lost_echoes
            or self.duplicated
            or self.seq_mismatches
            or self.unexpected
            or (self.stored is not None and self.stored != self.acked)
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["label"] = self.label
        data["is_clean"] = self.is_clean
        return data


Progress = Callable[[str], None]


async def run_target(
    target: Target,
    profile: LoadProfile,
    progress: Progress,
    spy_dir: Path | None = None,
) -> RunResult:
    """Prepare ``target``, load it, and always stop it."""
    result = RunResult(target.name, target.async_mode, profile)
    try:
        progress(f"{result.label}: seeding and starting the server")
        await target.prepare(profile)
        await _load(target, profile, result, progress, spy_dir)
        # Every acked message must be in the database exactly once.
        result.stored = await asyncio.to_thread(target.stored_messages)
    except Exception as error:
        result.failure = f"{type(error).__name__}: {error}"
        if target.servers:
            result.failure += "\n" + target.log_tail(1500)
        progress(f"{result.label}: FAILED {result.failure}")
    finally:
        await asyncio.to_thread(target.stop)
    return result


async def _load(
    target: Target,
    profile: LoadProfile,
    result: RunResult,
    progress: Progress,
    spy_dir: Path | None,
) -> None:
    ledger = Ledger()
    run = RunState(profile)
    residents = [Resident(seat, ledger, run) for seat in target.seats]
    counselors = [Counselor(ledger, run) for _ in range(profile.counselors)]
    gate = asyncio.Semaphore(profile.connect_concurrency)

    urls = target.urls
    result.workers = len(urls)
    result.cross_worker = cross_worker_conversations(profile, len(urls))

    async def connect(participant: Participant, url: str, **options: Any) -> bool:
        async with gate:
            try:
                await participant.connect(url, **options)
            except (socketio.exceptions.ConnectionError, OSError) as error:
                progress(f"{result.label}: connect failed: {error}")
                return False
            return True

    try:
        before = sample_processes(target.pids)
        if before is not None:
            result.server_rss_start_mb = before.rss_bytes / 2**20
        progress(f"{result.label}: connecting {len(residents)} residents")
        began = time.perf_counter()
        outcomes = await asyncio.gather(
            *(
                connect(
                    r,
                    urls[worker_of_resident(i, profile, len(urls))],
                    auth={"token": r.seat.token},
                )
                for i, r in enumerate(residents)
            ),
            *(
                connect(
                    c,
                    urls[worker_of_counselor(i, len(urls))],
                    **target.console_options(i),
                )
                for i, c in enumerate(counselors)
            ),
        )
        result.connect_seconds = time.perf_counter() - began
        result.connect_errors = outcomes.count(False)
        if result.connect_errors:
            raise RuntimeError(f"{result.connect_errors} connections failed")

        active = residents[: profile.active]
        if not profile.surge:
            for index, resident in enumerate(active):
                counselors[index % len(counselors)].holds.append(
                    resident.seat.conversation_id
                )
            progress(f"{result.label}: claiming {len(active)} conversations")
            began = time.perf_counter()
            await asyncio.gather(*(c.claim_all() for c in counselors))
            result.claim_seconds = time.perf_counter() - began
        await asyncio.sleep(profile.settle)
        idle = sample_processes(target.pids)

        await _drive(target, profile, run, active, result, progress, spy_dir)
        progress(f"{result.label}: draining")
        await _drain(ledger, profile.drain)
        result.disconnects = run.disconnects
        result.dropped = run.dropped
    finally:
        run.closing = True
        await asyncio.gather(*(p.disconnect() for p in [*residents, *counselors]))
    _tally(ledger, run, result)
    result.pushes = dict(run.pushes.count)
    result.push_bytes = dict(run.pushes.bytes)
    result.push_bytes_max = dict(run.pushes.largest)
    if idle is not None:
        result.server_rss_idle_mb = idle.rss_bytes / 2**20


def worker_of_counselor(index: int, workers: int) -> int:
    """Counsellors take turns over the workers."""
    return index % workers


def worker_of_resident(index: int, profile: LoadProfile, workers: int) -> int:
    """The worker resident ``index`` connects to.

    Counsellor ``c`` holds the talking conversations ``c``, ``c + C``,
    ``c + 2C``, ... (``C`` counsellors); every other one of those has its
    resident on the next worker, so with two workers about half the talking
    conversations cross between workers (exactly half when each counsellor
    holds an even number). Idle residents take turns.
    """
    if index >= profile.active:
        return index % workers
    counselor, turn = index % profile.counselors, index // profile.counselors
    return (worker_of_counselor(counselor, workers) + turn) % workers


def cross_worker_conversations(profile: LoadProfile, workers: int) -> int:
    """Talking conversations whose resident and counsellor are on different workers."""
    return sum(
        worker_of_resident(index, profile, workers)
        != worker_of_counselor(index % profile.counselors, workers)
        for index in range(profile.active)
    )


async def _drive(
    target: Target,
    profile: LoadProfile,
    run: RunState,
    active: list[Resident],
    result: RunResult,
    progress: Progress,
    spy_dir: Path | None,
) -> None:
    rng = random.Random(profile.seed)
    period = 1 / profile.rate
    now = time.perf_counter()
    run.sending_from = now + 0.5
    run.measuring_from = run.sending_from + profile.warmup
    run.sending_until = run.measuring_from + profile.duration
    pids = target.pids
    samples: list[ProcessSample] = []

    async def sample_until_done() -> None:
        while time.perf_counter() < run.sending_until:
            sample = sample_processes(pids)
            if sample is not None:
                samples.append(sample)
            await asyncio.sleep(1.0)

    async def mark(
        at: float,
    ) -> tuple[ProcessSample | None, float, float, tuple[float, float]]:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        return (
            sample_processes(pids),
            time.process_time(),
            service_cpu_seconds(),
            machine_cpu_seconds(),
        )

    async def spy(number: int, pid: int) -> None:
        assert spy_dir is not None
        await asyncio.sleep(max(0.0, run.measuring_from - time.perf_counter()))
        worker = f"-{number}" if len(pids) > 1 else ""
        path = spy_dir / f"{target.name}-{target.async_mode}{worker}.txt"
        await record_profile(pid, profile.duration, path)
        progress(f"{result.label}: profile written to {path}")

    async def report() -> None:
        total = profile.warmup + profile.duration
        while time.perf_counter() < run.sending_until:
            await asyncio.sleep(1.0)
            elapsed = min(total, time.perf_counter() - run.sending_from)
            sent = sum(r.sent for r in active)
            progress(
                f"{result.label}: load {progress_bar(elapsed / total)} "
                f"{elapsed:3.0f}/{total:.0f}s sent {sent}"
            )

    talkers = [
        r.talk(run.sending_from, run.sending_until, profile.rate, rng.random() * period)
        for r in active
    ]
    begin, end, *_ = await asyncio.gather(
        mark(run.measuring_from),
        mark(run.sending_until),
        sample_until_done(),
        report(),
        *(spy(n, pid) for n, pid in enumerate(pids, 1) if spy_dir is not None),
        *talkers,
    )
    (server_begin, client_begin, services_begin, machine_begin) = begin
    (server_end, client_end, services_end, machine_end) = end
    window = run.sending_until - run.measuring_from
    if server_begin is not None and server_end is not None:
        result.server_cpu_percent = (
            100 * (server_end.cpu_seconds - server_begin.cpu_seconds) / window
        )
    result.client_cpu_percent = 100 * (client_end - client_begin) / window
    result.services_cpu_percent = 100 * (services_end - services_begin) / window
    busy = machine_end[0] - machine_begin[0]
    result.machine_busy_percent = 100 * busy / (machine_end[1] - machine_begin[1])
    # Everything else on the machine, in % of one core like the other three.
    result.other_cpu_percent = (
        100 * busy / window
        - result.client_cpu_percent
        - result.server_cpu_percent
        - result.services_cpu_percent
    )
    if samples:
        result.server_rss_peak_mb = max(s.rss_bytes for s in samples) / 2**20
        result.server_threads_peak = max(s.threads for s in samples)


def progress_bar(fraction: float, width: int = 20) -> str:
    """``[######--------------]`` for a fraction between 0 and 1."""
    filled = round(width * min(1.0, max(0.0, fraction)))
    return "[" + "#" * filled + "-" * (width - filled) + "]"


async def _drain(ledger: Ledger, quiet: float, limit: float = 120.0) -> None:
    """Wait until every sent message is acked and delivered.

    A slow server is not a lossy one: keep waiting while acks or pushes are
    still arriving, and give up only after ``quiet`` seconds without any (or
    ``limit`` seconds in all). What is missing then counts as lost.
    """
    began = last_change = time.perf_counter()
    last_progress = -1
    while True:
        records = ledger.messages.values()
        pending = sum(
            record.error is None
            and (record.acked_at is None or not record.deliveries or not record.echoes)
            for record in records
        )
        if not pending:
            return
        progress = sum(
            (r.acked_at is not None) + r.deliveries + r.echoes for r in records
        )
        now = time.perf_counter()
        if progress != last_progress:
            last_progress, last_change = progress, now
        if now - last_change > quiet or now - began > limit:
            return
        await asyncio.sleep(0.2)


def _tally(ledger: Ledger, run: RunState, result: RunResult) -> None:
    records = list(ledger.messages.values())
    errors: Counter[str] = Counter()
    r2c: list[float] = []
    c2r: list[float] = []
    resident_ack: list[float] = []
    counselor_ack: list[float] = []
    for record in records:
        if record.acked_at is None:
            if record.error:
                # The emit itself failed (the socket was gone).
                errors[f"send failed: {record.error}"] += 1
            else:
                result.unacked += 1
            continue
        if record.error is not None:
            errors[record.error] += 1
            continue
        result.acked += 1
        if record.deliveries == 0:
            result.lost += 1
        if record.echoes == 0:
            result.lost_echoes += 1
        if record.deliveries > 1 or record.echoes > 1:
            result.duplicated += 1
        if record.delivered_seq is not None and record.delivered_seq != record.seq:
            result.seq_mismatches += 1
        if not record.measured:
            continue
        ack = record.acked_at - record.sent_at
        delivery = (
            record.delivered_at - record.sent_at
            if record.delivered_at is not None
            else None
        )
        if record.origin == "resident":
            resident_ack.append(ack)
            if delivery is not None:
                r2c.append(delivery)
        else:
            counselor_ack.append(ack)
            if delivery is not None:
                c2r.append(delivery)
    result.sent = len(records)
    result.error_acks = dict(errors)
    result.unexpected = ledger.unexpected
    worst: dict[int, float] = {}
    for record in records:
        if record.measured and record.origin == "resident" and record.delivered_at:
            second = int(record.sent_at - run.measuring_from)
            latency = 1000 * (record.delivered_at - record.sent_at)
            worst[second] = max(worst.get(second, 0.0), latency)
    result.worst_by_second = [
        round(worst.get(i, math.nan), 1)
        for i in range(int(run.sending_until - run.measuring_from))
    ]
    result.resident_to_counselor = Stats.of(r2c)
    result.counselor_to_resident = Stats.of(c2r)
    result.resident_ack = Stats.of(resident_ack)
    result.counselor_ack = Stats.of(counselor_ack)
    window = run.sending_until - run.measuring_from
    measured_acked = len(resident_ack) + len(counselor_ack)
    result.throughput = measured_acked / window if window > 0 else 0.0
    if run.send_lag:
        lags = sorted(run.send_lag)
        result.send_lag_p99_ms = 1000 * lags[max(0, math.ceil(0.99 * len(lags)) - 1)]


async def run_matrix(
    targets: Sequence[str],
    async_modes: Sequence[str],
    profile: LoadProfile,
    progress: Progress,
    *,
    repeats: int = 1,
    keep: bool = False,
    spy_dir: Path | None = None,
) -> list[RunResult]:
    """Every target in every async mode, ``repeats`` times, same profile.

    Targets of one mode run back to back, alternating which goes first from
    one repeat to the next, so a burst of other work on a shared machine does
    not always land on the same side of a ratio. Each run gets a scratch
    folder (database, server log), removed afterwards unless ``keep``. With
    ``spy_dir``, py-spy samples each server during the measured window (it
    slows the server: profile and measure in separate runs).
    """
    results = []
    with scratch_folder(keep, progress) as scratch:
        for repeat in range(1, repeats + 1):
            for mode in async_modes:
                order = list(targets) if repeat % 2 else list(reversed(targets))
                for name in order:
                    workdir = scratch / f"{name}-{mode}-{repeat}"
                    result = await run_named(
                        name, mode, workdir, profile, progress, spy_dir
                    )
                    result.repeat = repeat if repeats > 1 else 0
                    results.append(result)
    return results


@contextlib.contextmanager
def scratch_folder(keep: bool, progress: Progress) -> Iterator[Path]:
    """A folder for the runs' databases and server logs, removed unless ``keep``."""
    scratch = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    try:
        yield scratch
    finally:
        if keep:
            progress(f"server logs and databases kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


async def run_named(
    name: str,
    async_mode: str,
    workdir: Path,
    profile: LoadProfile,
    progress: Progress,
    spy_dir: Path | None = None,
) -> RunResult:
    """Run the target called ``name`` (a key of ``TARGETS``) in ``workdir``."""
    workdir.mkdir()
    target = TARGETS[name](async_mode, workdir)
    return await run_target(target, profile, progress, spy_dir)


def scaled(profile: LoadProfile, **changes: Any) -> LoadProfile:
    """``profile`` with some fields changed (and its name marking that)."""
    changed = {k: v for k, v in changes.items() if v is not None}
    if not changed:
        return profile
    return replace(profile, name="custom", **changed)


async def record_profile(pid: int, seconds: float, path: Path) -> None:
    """Sample ``pid`` with py-spy for ``seconds``; write collapsed stacks and a
    summary of where the GIL-holding thread spent its time."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or (
        shutil.which("py-spy")
    )
    if spy is None:
        raise RuntimeError("py-spy is not installed: run `make setup`")
    raw = path.with_suffix(".collapsed")
    process = await asyncio.create_subprocess_exec(
        spy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "200",
        "--gil",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(raw),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"py-spy failed: {errors.decode(errors='replace')}")
    path.write_text(summarise_stacks(raw.read_text()))


def summarise_stacks(collapsed: str, top: int = 40) -> str:
    """Self and inclusive sample shares per function from py-spy's raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short_frame(frame) for frame in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples\n"
    lines = [f"{total} samples of the GIL-holding thread", "", "self %  function"]
    lines += [f"{100 * n / total:6.1f}  {name}" for name, n in own.most_common(top)]
    lines += ["", "incl %  function"]
    lines += [
        f"{100 * n / total:6.1f}  {name}" for name, n in inclusive.most_common(top)
    ]
    return "\n".join(lines) + "\n"


def _short_frame(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    filename = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(filename).parts
    return f"{name} ({'/'.join(parts[-2:])})" if parts else name
