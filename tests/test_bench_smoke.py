"""The benchmark harness itself runs: tiny loads, checked for loss, never timed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.__main__ import ratio_lines, verdict_lines
from bench.chat_load import (
    SURGE_PROFILE,
    LoadProfile,
    RunResult,
    Stats,
    cross_worker_conversations,
)
from bench.surge import plot_surge, surge_sweep_report
from bench.sweep import Knee, step_profile
from tests.process_helpers import (
    POSTGRES_URL,
    SHARED_REDIS_URL,
    postgres_available,
    redis_available,
    require,
)

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TINY_LOAD = ("--modes", "gevent", "--duration", "1", "--warmup", "0")


def run_bench(*args: str | Path) -> None:
    """``python -m bench ARGS``, failing the test with its output if it fails."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def assert_clean(run: dict[str, Any]) -> None:
    """Every message acked, delivered once and stored once; no error."""
    assert run["failure"] is None
    assert run["acked"] == run["sent"] == run["stored"] > 0
    assert run["lost"] == run["lost_echoes"] == run["duplicated"] == 0
    assert run["unacked"] == run["disconnects"] == 0
    assert run["error_acks"] == {}


@pytest.mark.slow
def test_chat_benchmark_runs_clean_at_a_tiny_load(tmp_path):
    report = tmp_path / "bench.json"
    run_bench(
        "--only",
        "chat",
        *TINY_LOAD,
        "--residents",
        "4",
        "--active",
        "2",
        "--counselors",
        "1",
        "--no-write",
        "--json",
        report,
    )
    (run,) = json.loads(report.read_text())
    assert run["target"] == "hotline"
    assert_clean(run)


@pytest.mark.slow
def test_surge_profile_runs_clean_against_both_relays_and_hotline(tmp_path):
    results, report = tmp_path / "results.md", tmp_path / "surge.json"
    # A tiny surge: the same client against the bare relay, the durable
    # relay and Hotline, nothing claimed, three of eight waiting writing.
    run_bench(
        "--surge",
        "--name",
        "surge-tiny",
        *TINY_LOAD,
        "--waiting",
        "8",
        "--writing",
        "3",
        "--consoles",
        "1",
        "--results",
        results,
        "--json",
        report,
    )

    runs = json.loads(report.read_text())
    assert [run["target"] for run in runs] == ["relay", "relay-durable", "hotline"]
    for run in runs:
        assert run["profile"]["surge"] is True
        assert (run["profile"]["residents"], run["profile"]["active"]) == (8, 3)
        # Waiting residents' messages: acked, echoed, shown in the console's
        # queue as a one-item push, and stored by those that store.
        assert run["failure"] is None
        assert run["acked"] == run["sent"] > 0
        assert run["lost"] == run["lost_echoes"] == run["duplicated"] == 0
        assert run["unacked"] == run["disconnects"] == 0
        assert run["error_acks"] == {}
        assert run["stored"] == (None if run["target"] == "relay" else run["acked"])
        # A one-item change, or (Hotline, when a first message raises the
        # level) the queue's bounded first page.
        shown = [event for event in ("queue_item", "queue") if event in run["pushes"]]
        assert shown
        assert all(run["push_bytes_max"][event] > 0 for event in shown)
        assert run["server_rss_start_mb"] > 0

    text = results.read_text()
    begin = "<!-- bench:chat:surge-tiny:begin -->"
    end = "<!-- bench:chat:surge-tiny:end -->"
    block = text.split(begin, 1)[1].split(end, 1)[0]
    assert "### Surge — profile `surge-tiny`" in block
    assert "| relay-durable/gevent | 8 | 3 | 1 |" in block
    assert "hotline/gevent over relay-durable/gevent at 8 waiting: ack p50" in block
    assert "- hotline/gevent at 8 waiting: ack p99 ≤ 150 ms:" in block


def surge_step(target: str, waiting: int, largest: int) -> RunResult:
    """A measured surge step with made-up numbers."""
    profile = replace(SURGE_PROFILE, residents=waiting, active=min(100, waiting))
    result = RunResult(target, "gevent", profile)
    result.resident_ack = Stats(count=100, p50=5.0, p95=20.0, p99=40.0)
    result.push_bytes_max = {"queue": largest, "queue_item": 300}
    result.pushes = {"queue": 3, "queue_item": 100}
    result.push_bytes = {"queue": 3 * largest, "queue_item": 30_000}
    result.server_rss_start_mb, result.server_rss_idle_mb = 50.0, 120.0
    result.connect_seconds = waiting / 200
    return result


def test_surge_sweep_writes_its_table_ratios_and_plot(tmp_path):
    results = [
        surge_step(target, waiting, 15_000 if target == "hotline" else 214)
        for waiting in (250, 500)
        for target in ("relay", "relay-durable", "hotline")
    ]
    plot = tmp_path / "surge-vs-waiting.png"
    plot_surge(results, plot)
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
    text = surge_sweep_report(
        results, SURGE_PROFILE, "python -m bench", datetime.now(UTC), [], plot.name
    )
    assert "| hotline/gevent | 500 | 100 | 1 | 2.5 | 50/120 | 143.4 |" in text
    assert "hotline/gevent over relay-durable/gevent at 250 waiting: ack p50 " in text
    assert "- hotline/gevent at 500 waiting: ack p99 ≤ 150 ms: met;" in text
    assert "(surge-vs-waiting.png)" in text


def test_steady_report_holds_hotline_to_the_durable_relay():
    profile = LoadProfile()
    runs = []
    for target, p50 in (("relay", 2.0), ("relay-durable", 4.0), ("hotline", 7.0)):
        run = RunResult(target, "gevent", profile)
        run.resident_to_counselor = Stats(count=100, p50=p50, p95=20.0, p99=40.0)
        runs.append(run)
    text = "\n".join(ratio_lines(runs) + verdict_lines(runs, profile))
    assert "hotline/gevent over relay/gevent: r→c p50 **3.50** (no target" in text
    assert "hotline/gevent over relay-durable/gevent: r→c p50 **1.75** (target" in text
    assert "r→c p50 ≤ 2× the durable relay (1.75×): met" in text


@pytest.mark.slow
def test_knee_sweep_on_two_workers_writes_its_block_and_plot(tmp_path):
    require(postgres_available(), "PostgreSQL")
    require(redis_available(), "Redis")
    results, report = tmp_path / "results.md", tmp_path / "sweep.json"
    # One counsellor on the first worker: of its residents, every other one is
    # on the second worker, so messages must cross through Redis to arrive.
    run_bench(
        "--sweep",
        "2,4",
        "--quick",
        "--name",
        "tiny",
        "--only",
        "hotline-2w",
        "--postgres",
        POSTGRES_URL,
        "--redis",
        SHARED_REDIS_URL,
        *TINY_LOAD,
        "--residents",
        "4",
        "--counselors",
        "1",
        "--results",
        results,
        "--json",
        report,
    )

    runs = json.loads(report.read_text())
    assert [run["profile"]["active"] for run in runs] == [2, 4]
    for run in runs:
        assert (run["target"], run["workers"]) == ("hotline-2w", 2)
        assert run["cross_worker"] == run["profile"]["active"] // 2
        assert_clean(run)

    text = results.read_text()
    begin, end = (
        "<!-- bench:chat:sweep-tiny:begin -->",
        "<!-- bench:chat:sweep-tiny:end -->",
    )
    assert begin in text and end in text
    block = text.split(begin, 1)[1].split(end, 1)[0]
    assert "### Knee sweep — profile `tiny`" in block
    assert "| hotline-2w/gevent | 2 |" in block
    assert "| hotline-2w/gevent | 4 |" in block
    assert "- hotline-2w/gevent: **" in block
    assert "(latency-vs-load-tiny.png)" in block
    plot = tmp_path / "latency-vs-load-tiny.png"
    assert plot.read_bytes().startswith(PNG_SIGNATURE)


def sweep_step(talking: int, p99_ms: float) -> RunResult:
    """A measured sweep step whose r→c p99 was ``p99_ms``."""
    result = RunResult("hotline", "gevent", step_profile(LoadProfile(), talking))
    result.resident_to_counselor = Stats(count=100, p50=5.0, p95=p99_ms, p99=p99_ms)
    return result


@pytest.mark.parametrize(
    ("p99s", "described"),
    [
        (
            [40, 90, 700, 2500],
            "between 100 and 150 talking conversations (120–180 msg/s offered)",
        ),
        # Noise below the knee after a first crossing does not move it.
        (
            [40, 600, 90],
            "between 50 and 100 talking conversations (60–120 msg/s offered)",
        ),
        (
            [40, 90],
            "not reached: p99 ≤ 500 ms up to 100 talking conversations "
            "(120 msg/s offered)",
        ),
        (
            [800],
            "below 50 talking conversations (over already at the first step)",
        ),
    ],
)
def test_knee_is_the_last_step_under_500_ms_and_the_first_over(p99s, described):
    steps = tuple(sweep_step(50 * (i + 1), p99) for i, p99 in enumerate(p99s))
    assert Knee("hotline/gevent", steps).describe() == described


def test_two_workers_put_half_the_talking_conversations_across_workers():
    profile = LoadProfile(residents=500, active=100, counselors=10)
    assert cross_worker_conversations(profile, workers=2) == 50
    assert cross_worker_conversations(profile, workers=1) == 0
