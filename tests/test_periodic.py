"""Periodic jobs run once per interval across workers (``hotline.jobs.periodic``)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.extensions import db
from hotline.jobs import escalation_watch, periodic
from hotline.models import JobLease
from hotline.phones import PhoneVault
from tests.process_helpers import wait_for

MINUTE = timedelta(minutes=1)
NOON = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        session = db.new_session()
        try:
            yield session
        finally:
            session.close()


def lease(app: Flask, name: str) -> JobLease | None:
    with app.app_context():
        session = db.new_session()
        try:
            return session.scalar(select(JobLease).where(JobLease.name == name))
        finally:
            session.close()


def test_slots_are_cut_from_the_epoch() -> None:
    assert periodic.slot_start(NOON + timedelta(seconds=59), MINUTE) == NOON
    assert periodic.slot_start(NOON + MINUTE, MINUTE) == NOON + MINUTE
    # A daily job's slot is a UTC day.
    assert periodic.slot_start(NOON, timedelta(days=1)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
    assert periodic.seconds_to_next_slot(MINUTE, NOON + timedelta(seconds=45)) == 15
    with pytest.raises(ValueError):
        periodic.slot_start(NOON, timedelta(0))


def claim(
    app: Flask, job: str, at: datetime, holder: str = "w1", interval=MINUTE
) -> bool:
    """One claim in its own unit of work, as a worker makes it."""
    with app.app_context(), db.transaction() as session:
        return periodic.run_once_per_interval(
            session, job, interval, now=at, holder=holder
        )


def test_one_win_per_slot(app: Flask) -> None:
    def claim_sweep(at: datetime, holder: str = "w1") -> bool:
        return claim(app, "sweep", at, holder)

    assert claim_sweep(NOON) is True
    assert claim_sweep(NOON + timedelta(seconds=1), "w2") is False
    assert claim_sweep(NOON + timedelta(seconds=59)) is False
    assert claim_sweep(NOON + MINUTE, "w2") is True
    # A worker whose clock runs behind cannot take a slot that has passed.
    assert claim_sweep(NOON + timedelta(seconds=30)) is False
    assert claim_sweep(NOON + 3 * MINUTE) is True

    row = lease(app, "sweep")
    assert row is not None
    assert (row.slot_start, row.ran_at, row.holder, row.runs) == (
        NOON + 3 * MINUTE,
        NOON + 3 * MINUTE,
        "w1",
        3,
    )


def test_jobs_have_separate_leases(app: Flask) -> None:
    assert claim(app, "purge", NOON)
    assert claim(app, "callbacks", NOON)
    assert not claim(app, "purge", NOON)


def test_a_claim_rolled_back_with_its_unit_leaves_the_slot_free(app: Flask) -> None:
    with pytest.raises(RuntimeError), app.app_context(), db.transaction() as session:
        assert periodic.run_once_per_interval(session, "purge", MINUTE, now=NOON)
        raise RuntimeError("the worker failed before its unit committed")
    assert claim(app, "purge", NOON, "w2")


def test_workers_racing_for_one_slot_give_it_to_exactly_one(app: Flask) -> None:
    racers = 6
    barrier = threading.Barrier(racers)
    results: list[bool] = []
    errors: list[BaseException] = []

    def race(number: int) -> None:
        try:
            barrier.wait()
            results.append(claim(app, "race", NOON, f"w{number}"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False] * (racers - 1) + [True]
    row = lease(app, "race")
    assert row is not None and row.runs == 1


def test_run_if_won_runs_the_job_only_for_the_winner(app: Flask) -> None:
    ran: list[Flask] = []
    interval = timedelta(days=1)
    assert periodic.run_if_won(app, "daily", interval, ran.append) is True
    assert periodic.run_if_won(app, "daily", interval, ran.append) is False
    assert ran == [app]


def test_escalation_watch_looks_every_5_s_or_every_realert_if_shorter(
    app: Flask,
) -> None:
    app.config["ESCALATION_REALERT_SECONDS"] = 30
    assert escalation_watch.poll_interval(app) == timedelta(seconds=5)
    app.config["ESCALATION_REALERT_SECONDS"] = 1
    assert escalation_watch.poll_interval(app) == timedelta(seconds=1)


# A worker process: the real loop (``periodic.run_forever``) on the shared
# database, printing every attempt "slot won" and appending each run of the
# job to a file shared by all workers.
WORKER = """
import os, sys
from datetime import timedelta
from hotline import create_app
from hotline.jobs import periodic
from hotline.models import utcnow

interval = timedelta(seconds=float(sys.argv[1]))
runs_path = sys.argv[2]
app = create_app()
claim = periodic.run_once_per_interval
won_slot = {}

def attempt(session, name, interval, **options):
    now = utcnow()
    won = claim(session, name, interval, now=now, **options)
    slot = periodic.slot_start(now, interval).isoformat()
    won_slot["slot"] = slot
    print(slot, int(won), flush=True)
    return won

def job(app):
    with open(runs_path, "a") as runs:
        runs.write(f"{won_slot['slot']} {os.getpid()}\\n")

periodic.run_once_per_interval = attempt
periodic.run_forever(app, "probe", interval, job)
"""
SLOT_SECONDS = 0.25
SLOTS = 8


def attempts_of(process_output: Path) -> dict[str, bool]:
    """The worker's "slot won" lines (anything else, say a traceback, is not)."""
    fields = (line.split() for line in process_output.read_text().splitlines())
    return {f[0]: f[1] == "1" for f in fields if len(f) == 2 and f[1] in "01"}


def test_two_worker_processes_run_a_job_once_per_slot(
    tmp_path: Path, database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(
        HOTLINE_DATABASE_URL=database_url,
        HOTLINE_SECRET_KEY="periodic-test",
        HOTLINE_PHONE_KEYS=PhoneVault.generate_key(),
        HOTLINE_RATELIMIT_ENABLED="0",
    )
    runs_path = tmp_path / "runs.txt"
    runs_path.touch()
    outputs = [tmp_path / f"worker{n}.out" for n in (1, 2)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for output in outputs:
            with output.open("wb") as handle:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-c", WORKER, str(SLOT_SECONDS), runs_path],
                        cwd=tmp_path,
                        env=env,
                        stdout=handle,
                        stderr=subprocess.STDOUT,
                    )
                )

        def both_attempted_enough() -> bool:
            for process, output in zip(processes, outputs, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{output.read_text()}")
            attempted = [attempts_of(output) for output in outputs]
            return len(set(attempted[0]) & set(attempted[1])) >= SLOTS

        wait_for(both_attempted_enough, 60, f"{SLOTS} slots tried by both workers")
    finally:
        for process in processes:
            process.kill()
            process.wait()

    attempts = [attempts_of(output) for output in outputs]
    wins: dict[str, int] = defaultdict(int)
    for worker in attempts:
        for slot, won in worker.items():
            wins[slot] += won
    contested = set(attempts[0]) & set(attempts[1])
    # Every slot both workers tried was won by exactly one of them; no slot
    # was ever won twice.
    assert all(wins[slot] == 1 for slot in contested), attempts
    assert max(wins.values()) == 1, attempts
    runs = [line.split() for line in runs_path.read_text().splitlines()]
    slot_runs = Counter(slot for slot, _ in runs)
    assert max(slot_runs.values()) == 1, runs
    assert {slot for slot, count in wins.items() if count} >= set(slot_runs)
    assert len(slot_runs) >= SLOTS - 1
