"""The benchmark harness itself runs: tiny loads, checked for loss, never timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.chat_load import LoadProfile, RunResult, Stats, cross_worker_conversations
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
