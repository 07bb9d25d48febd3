"""Run ``hotline serve`` as a real subprocess for end-to-end tests.

Each server gets a temporary SQLite database and secret key, so a test never
touches the developer's ``instance/`` folder. Servers run in their own process
group and are killed (SIGKILL if need be) when the ``with`` block ends, and
again at interpreter exit as a last resort, so no test leaks a process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

# The process plumbing is shared with bench/; tests import it from here.
from devtools.processes import START_TIMEOUT, Daemon, clean_env
from devtools.processes import free_port as free_port
from devtools.processes import hotline_command as hotline_command
from devtools.processes import wait_for as wait_for
from hotline.phones import PhoneVault

COUNSELOR_PASSWORD = "process-test-password"


class HotlineServer(Daemon):
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
        super().__init__(workdir, "hotline serve", log_name="server.log")
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database_path = workdir / "hotline.sqlite3"
        self.env = clean_env(
            HOTLINE_DATABASE_URL=f"sqlite:///{self.database_path}",
            HOTLINE_SECRET_KEY=secrets.token_urlsafe(32),
            HOTLINE_PHONE_KEYS=PhoneVault.generate_key(),
            # Quick exit must never leave loopback during tests.
            HOTLINE_QUICK_EXIT_URL=f"{self.base_url}/api/health",
        )
        self.env.update(env or {})
        self.starts = 0

    @property
    def database_url(self) -> str:
        """The database this server uses (SQLite in ``workdir`` unless overridden)."""
        return self.env["HOTLINE_DATABASE_URL"]

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

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start serving and return once ``/api/health`` answers."""
        self._spawn(
            [
                *hotline_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            banner=f"start #{self.starts + 1}",
        )
        self.starts += 1
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

    def restart_after_crash(self, timeout: float = START_TIMEOUT) -> None:
        """SIGKILL, then start again on the same port with the same database."""
        self.kill()
        self.start(timeout)


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


# --- Scale-out: PostgreSQL, Redis and nginx for real-process tests ---------

POSTGRES_URL = os.environ.get(
    "HOTLINE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# CI sets this so that a missing nginx, PostgreSQL or Redis fails the run
# instead of skipping the scale-out and fault tests.
REQUIRE_SERVICES = os.environ.get("HOTLINE_REQUIRE_SERVICES") == "1"


def require(available: bool, what: str) -> None:
    """Skip the test when ``what`` is missing, or fail if CI requires it."""
    if available:
        return
    import pytest

    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (HOTLINE_REQUIRE_SERVICES=1)")
    pytest.skip(f"{what} is not available")


def nginx_binary() -> str | None:
    """Debian's nginx (``apt-get install nginx``), if installed."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")


def redis_server_binary() -> str | None:
    return shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin")


def postgres_available() -> bool:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        engine.dispose()


def redis_available(url: str = SHARED_REDIS_URL) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def unique_channel(prefix: str = "hotline-test") -> str:
    """A Redis pub/sub channel of one test's own.

    Pub/sub ignores Redis database numbers, so parallel runs on one Redis
    are kept apart by channel name, never by ``/<db>``.
    """
    return f"{prefix}-{os.getpid()}-{secrets.token_hex(6)}"


def _postgres_admin_execute(*statements: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_database(prefix: str = "hotline_p") -> Iterator[str]:
    """A fresh PostgreSQL database migrated to head; dropped afterwards."""
    from sqlalchemy import make_url

    from hotline.migrate import upgrade

    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    _postgres_admin_execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    try:
        upgrade(url)
        yield url
    finally:
        _postgres_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def terminate_connections(database_url: str) -> int:
    """Kill every server backend connected to the database (a lost connection)."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    name = make_url(database_url).database
    engine = create_engine(POSTGRES_URL, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
            )
    finally:
        engine.dispose()


# --- What a server stored, read from its database ----------------------------


def stored_messages(database_url: str, conversation_id: int) -> list[tuple[int, str]]:
    """``(seq, client_id)`` of every message stored in a conversation, by seq."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [
                (seq, client_id)
                for seq, client_id in connection.execute(
                    text(
                        "SELECT seq, client_id FROM messages "
                        "WHERE conversation_id = :id ORDER BY seq"
                    ),
                    {"id": conversation_id},
                )
            ]
    finally:
        engine.dispose()


def job_runs(database_url: str, name: str) -> int:
    """How many times the periodic job ``name`` has run (0 before its first)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(
                connection.scalar(
                    text("SELECT runs FROM job_leases WHERE name = :name"),
                    {"name": name},
                )
                or 0
            )
    finally:
        engine.dispose()


class RedisServer(Daemon):
    """A private ``redis-server`` on a free port, to stop and start at will.

    Tests that take Redis down use this one, never the shared server.
    """

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        super().__init__(workdir, "redis")
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = START_TIMEOUT) -> None:
        binary = redis_server_binary()
        assert binary is not None, "redis-server is not installed"
        self._spawn(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ]
        )
        try:
            wait_for(lambda: self._ready(), timeout, f"redis-server on {self.port}")
        except BaseException:
            self.kill()
            raise

    def _ready(self) -> bool:
        if not self.is_running:
            raise RuntimeError(f"redis-server exited early:\n{self.log_tail()}")
        return redis_available(self.url)


NGINX_LOG_FORMAT = "$msec $request_method $uri $status upstream=$upstream_addr"


def nginx_block(config: str, opening: str) -> str:
    """The ``opening { ... }`` block of an nginx config, braces included."""
    start = config.index(opening)
    depth = 0
    for index in range(config.index("{", start), len(config)):
        if config[index] == "{":
            depth += 1
        elif config[index] == "}":
            depth -= 1
            if depth == 0:
                return config[start : index + 1]
    raise ValueError(f"unbalanced braces after {opening!r}")


class NginxProxy(Daemon):
    """Debian's nginx in the foreground, proxying to ``hotline serve`` workers.

    The map, upstream and ``location /`` blocks come from the production
    ``deploy/nginx.conf``, with the upstream's server addresses replaced by
    the test workers'; pid, logs and temp files live in ``workdir``.
    """

    def __init__(
        self, workdir: Path, deploy_config: Path, upstream_ports: list[int]
    ) -> None:
        super().__init__(workdir, "nginx")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.access_log = workdir / "access.log"
        self.config_path = workdir / "nginx.conf"
        self.config_path.write_text(
            self.render(deploy_config.read_text(), upstream_ports)
        )

    def render(self, deploy: str, upstream_ports: list[int]) -> str:
        upstream = nginx_block(deploy, "upstream hotline")
        params = [
            line.split(None, 2)[2] if len(line.split(None, 2)) > 2 else ";"
            for line in upstream.splitlines()
            if line.strip().startswith("server ")
        ]
        assert params, "deploy/nginx.conf has no upstream servers"
        servers = "\n".join(
            f"    server 127.0.0.1:{port} {params[0]}".rstrip()
            for port in upstream_ports
        )
        body = upstream[upstream.index("{") + 1 : upstream.rindex("}")]
        kept = [
            line for line in body.splitlines() if not line.strip().startswith("server ")
        ]
        upstream = "upstream hotline {\n" + "\n".join(kept) + "\n" + servers + "\n}"
        folder = self.workdir
        user = "user root;\n" if os.geteuid() == 0 else ""
        return f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 512; }}
http {{
    log_format test '{NGINX_LOG_FORMAT}';
    access_log {self.access_log} test;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    {nginx_block(deploy, "map $http_upgrade")}
    {upstream}
    server {{
        listen 127.0.0.1:{self.port};
        {nginx_block(deploy, "location / ")}
    }}
}}
"""

    def start(self, timeout: float = START_TIMEOUT) -> None:
        binary = nginx_binary()
        assert binary is not None, "nginx is not installed"
        self._spawn(
            [binary, "-p", str(self.workdir), "-c", str(self.config_path)],
        )
        try:
            wait_for(self._ready, timeout, f"nginx on {self.port}")
        except BaseException:
            self.kill()
            raise

    def _ready(self) -> bool:
        if not self.is_running:
            raise RuntimeError(
                f"nginx exited early:\n{self.log_tail()}\n"
                f"{(self.workdir / 'error.log').read_text(errors='replace')}"
            )
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def upstream_of(self, path: str) -> int:
        """The upstream port that served the last request logged for ``path``.

        nginx writes the log line after it has sent the response, so the
        client can be faster than the log: wait for the line.
        """

        def logged() -> list[str]:
            return [
                line
                for line in self.access_log.read_text().splitlines()
                if f" {path} " in line
            ]

        lines = wait_for(logged, 5.0, f"a request for {path} in the nginx access log")
        # With failover the field lists every upstream tried: the last served.
        tried = lines[-1].split("upstream=", 1)[1].split(",")
        return int(tried[-1].strip().rsplit(":", 1)[1])


class TcpProxy:
    """A TCP forwarder between clients and a server, to drop the network.

    Each direction can be stopped (bytes are read and thrown away, as a
    network that loses packets would) and every connection can be cut.
    """

    def __init__(self, target_port: int) -> None:
        import threading

        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.to_server = threading.Event()
        self.to_client = threading.Event()
        self.to_server.set()
        self.to_client.set()
        self.dropped = {"to_server": 0, "to_client": 0}
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink, gate, name in (
                (client, server, self.to_server, "to_server"),
                (server, client, self.to_client, "to_client"),
            ):
                threading.Thread(
                    target=self._pump, args=(source, sink, gate, name), daemon=True
                ).start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, gate: Any, name: str
    ) -> None:
        try:
            while data := source.recv(65536):
                if gate.is_set():
                    sink.sendall(data)
                else:
                    with self._lock:
                        self.dropped[name] += len(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every open connection, as a lost network does."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for end in sockets:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut()


def tcp_connection(local_port: int, remote_port: int) -> dict[str, int] | None:
    """State and queues of an IPv4 loopback TCP socket, from /proc/net/tcp.

    ``tx`` is what the kernel still holds to send, ``rx`` what arrived and the
    program has not read; ``state`` is the kernel's number (1: established).
    """
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, queues = fields[1], fields[2], fields[3], fields[4]
        if (
            int(local.split(":")[1], 16) == local_port
            and int(remote.split(":")[1], 16) == remote_port
        ):
            tx, rx = (int(value, 16) for value in queues.split(":"))
            return {"state": int(state, 16), "tx": tx, "rx": rx}
    return None
