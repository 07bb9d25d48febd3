"""The benchmark harness itself runs: a tiny load, checked for loss."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_chat_benchmark_runs_clean_at_a_tiny_load(tmp_path):
    report = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--only",
            "chat",
            "--modes",
            "gevent",
            "--residents",
            "4",
            "--active",
            "2",
            "--counselors",
            "1",
            "--duration",
            "1",
            "--warmup",
            "0",
            "--no-write",
            "--json",
            str(report),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (run,) = json.loads(report.read_text())
    assert run["target"] == "hotline"
    assert run["acked"] == run["sent"] == run["stored"] > 0
    assert run["lost"] == run["duplicated"] == run["unacked"] == 0
    assert run["error_acks"] == {}
