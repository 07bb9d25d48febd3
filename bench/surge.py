"""Surge (issue 20): many residents waiting, some of them writing, consoles open.

A surge run is an ordinary ``bench.chat_load`` run of a profile with
``surge=True``: nobody is claimed, ``active`` of the ``residents`` write once
a second while they wait, and the ``counselors`` consoles watch the queue.
This module reports such runs (ack latency, the largest console push, the
time for everyone to join, memory per idle resident connection, loss), sweeps
the number waiting, and plots ack latency and push size against it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bench.chat_load import (
    LoadProfile,
    Progress,
    RunResult,
    run_named,
    scratch_folder,
)

SURGE_LEVELS = (250, 500, 1000, 2000, 4000)
QUICK_SURGE_LEVELS = (50, 100)
# Issue 20's targets, one worker, same run as the relays.
TARGET_ACK_P99_MS = 150.0
TARGET_ACK_P99_MS_AT_4000 = 500.0
TARGET_PUSH_BYTES = 64 * 1024
TARGET_JOIN_SECONDS = 10.0
# A target leaves a sweep after a step whose ack p99 is past this (or failed).
GIVE_UP_ACK_P99_MS = 60_000.0
RELAYS = ("relay", "relay-durable")


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def _ratio(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or b <= 0:
        return math.nan
    return a / b


def errors(r: RunResult) -> int:
    """Failed connects, dropped sockets, error acks, missing acks, seq mismatches."""
    return (
        r.connect_errors
        + r.disconnects
        + sum(r.error_acks.values())
        + r.unacked
        + r.seq_mismatches
        + r.unexpected
    )


def lost(r: RunResult) -> int:
    """Acked messages the console's queue never showed, that never came back
    to the resident, or that the server did not store."""
    unstored = max(0, r.acked - r.stored) if r.stored is not None else 0
    return r.lost + r.lost_echoes + unstored


def surge_table(results: Sequence[RunResult]) -> str:
    head = (
        "| run | waiting | writing | consoles | all joined, s | RSS MB before/idle "
        "| KB per idle resident | sent | acked | lost | dup | errors | ack p50 "
        "| ack p99 | ack max | r→console p50 | r→console p99 | largest push, B "
        "| `queue` pushes (avg B) | `queue_item` pushes (avg B) | other pushes "
        "| server CPU % | server CPU ms/msg | client CPU % | others CPU % |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        p = r.profile
        if r.failure:
            rows.append(
                f"| {r.run_label} | {p.residents} | {p.active} | {p.counselors} "
                f"| failed: {r.failure.splitlines()[0]} |"
            )
            continue
        ack, seen = r.resident_ack, r.resident_to_counselor
        others = sum(
            n for event, n in r.pushes.items() if event not in ("queue", "queue_item")
        )
        rows.append(
            f"| {r.run_label} | {p.residents} | {p.active} | {p.counselors} "
            f"| {r.connect_seconds:.1f} "
            f"| {r.server_rss_start_mb:.0f}/{r.server_rss_idle_mb:.0f} "
            f"| {_ms(r.rss_per_resident_kb)} | {r.sent} | {r.acked} | {lost(r)} "
            f"| {r.duplicated} | {errors(r)} | {_ms(ack.p50)} | {_ms(ack.p99)} "
            f"| {_ms(ack.max)} | {_ms(seen.p50)} | {_ms(seen.p99)} "
            f"| {r.largest_push:,} | {_pushes(r, 'queue')} "
            f"| {_pushes(r, 'queue_item')} | {others} "
            f"| {r.server_cpu_percent:.0f} | {_ms(_cpu_per_message(r))} "
            f"| {r.client_cpu_percent:.0f} "
            f"| {max(0.0, r.other_cpu_percent):.0f} |"
        )
    return "\n".join(rows)


def _cpu_per_message(r: RunResult) -> float:
    """Server CPU ms per acked message over the measured window."""
    return 10 * r.server_cpu_percent / r.throughput if r.throughput else math.nan


def _pushes(r: RunResult, event: str) -> str:
    count = r.pushes.get(event, 0)
    if not count:
        return "0"
    return f"{count:,} ({r.push_bytes.get(event, 0) / count:,.0f})"


COLUMNS_NOTE = (
    "Latencies in ms, in the load client with one monotonic clock: ack = a "
    "waiting resident's send → its ack; r→console = send → the first console "
    "push that shows the message (a `queue_item`, or an item of a `queue` "
    "page, whose `message_count` covers "
    "it). All joined = every resident and console socket connected (50 at a "
    "time), from the first connect to the last. KB per idle resident = server "
    "RSS once all are connected and settled, less RSS before the first "
    "connect, over the number waiting. Push sizes are the JSON payloads as "
    "python-socketio encodes them, per console. Lost = acked but never shown "
    "to the console, never echoed to the resident, or not stored; errors = "
    "failed connects, dropped sockets, error or missing acks. CPU in % of one "
    "core over the measured window, and per acked message (the least noisy "
    "cost figure on a shared machine); 'others' is the rest of the machine "
    "(it is shared: when server + client + others reach 200 %, the server "
    "was starved of CPU and its latencies say more about the machine)."
)


def ratio_lines(results: Sequence[RunResult]) -> list[str]:
    """Each Hotline run over each relay of the same mode, repeat and load."""
    runs = {
        (r.target, r.async_mode, r.repeat, r.profile.residents): r
        for r in results
        if not r.failure
    }
    lines = []
    for (name, mode, repeat, waiting), r in sorted(runs.items()):
        if name in RELAYS:
            continue
        for baseline in RELAYS:
            b = runs.get((baseline, mode, repeat, waiting))
            if b is None:
                continue
            lines.append(
                f"- {r.run_label} over {baseline}/{mode} at {waiting} waiting: "
                f"ack p50 **{_fmt(_ratio(r.resident_ack.p50, b.resident_ack.p50))}**"
                f", ack p99 **{_fmt(_ratio(r.resident_ack.p99, b.resident_ack.p99))}"
                f"**, all joined {_fmt(_ratio(r.connect_seconds, b.connect_seconds))}"
                f", largest push {_fmt(_ratio(r.largest_push, b.largest_push))}"
            )
    return lines


def verdict_lines(results: Sequence[RunResult]) -> list[str]:
    """Issue 20's targets for each Hotline run."""
    lines = []
    indicative = False
    for r in results:
        if r.target in RELAYS:
            continue
        p = r.profile
        if r.failure:
            lines.append(f"- {r.run_label} at {p.residents} waiting: FAILED")
            continue
        ack_p99 = r.resident_ack.p99
        clean = errors(r) == 0 and lost(r) == 0 and r.duplicated == 0
        if p.residents >= 4000:
            checks = [
                ("answering, nothing lost", clean),
                (
                    f"ack p99 ≤ {TARGET_ACK_P99_MS_AT_4000:.0f} ms",
                    ack_p99 <= TARGET_ACK_P99_MS_AT_4000,
                ),
            ]
        else:
            checks = [
                (
                    f"ack p99 ≤ {TARGET_ACK_P99_MS:.0f} ms",
                    ack_p99 <= TARGET_ACK_P99_MS,
                ),
                (
                    f"no push > {TARGET_PUSH_BYTES // 1024} KB",
                    r.largest_push <= TARGET_PUSH_BYTES,
                ),
                (
                    f"all joined in ≤ {TARGET_JOIN_SECONDS:.0f} s",
                    r.connect_seconds <= TARGET_JOIN_SECONDS,
                ),
                ("zero errors, nothing lost", clean),
            ]
            indicative |= (p.residents, p.active) != (1000, 100)
        text = "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks)
        detail = f" ({r.error_acks})" if r.error_acks else ""
        lines.append(f"- {r.run_label} at {p.residents} waiting: {text}{detail}")
    if indicative:
        lines.append(
            "- (the push, join and p99 targets are set at 1,000 waiting / 100 "
            "writing, and p99 ≤ 500 ms at 4,000: elsewhere they are indicative)"
        )
    return lines


def _load_line(p: LoadProfile, waiting: str | None = None) -> str:
    return (
        f"- load: {waiting or p.residents} residents waiting, {p.active} of them "
        "writing "
        f"{p.rate:g} msg/s each, {p.counselors} console(s) open, nothing "
        f"claimed; {p.warmup:g} s warm-up + {p.duration:g} s measured; "
        "websocket transport"
    )


def surge_report(
    results: Sequence[RunResult],
    profile: LoadProfile,
    command: str,
    started: datetime,
    header: Sequence[str],
) -> str:
    lines = [
        f"### Surge — profile `{profile.name}` — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}`",
        "",
        *header,
        _load_line(profile),
        "",
        surge_table(results),
        "",
        COLUMNS_NOTE,
        "",
    ]
    ratios = ratio_lines(results)
    if ratios:
        lines += ["Hotline against the relays in the same run:", "", *ratios, ""]
    lines += ["Targets (issue 20):", "", *verdict_lines(results), ""]
    return "\n".join(lines)


def surge_sweep_report(
    results: Sequence[RunResult],
    profile: LoadProfile,
    command: str,
    started: datetime,
    header: Sequence[str],
    plot_name: str,
) -> str:
    waiting = sorted({r.profile.residents for r in results})
    lines = [
        f"### Surge sweep — profile `{profile.name}` — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}`",
        "",
        *header,
        _load_line(profile, ", ".join(map(str, waiting))),
        "- a fresh server and database each step; a target leaves the sweep "
        f"after a step past {GIVE_UP_ACK_P99_MS:,.0f} ms ack p99",
        "",
        surge_table(sorted(results, key=lambda r: (r.label, r.profile.residents))),
        "",
        COLUMNS_NOTE,
        "",
        "Hotline against the relays in the same run:",
        "",
        *ratio_lines(results),
        "",
        "Targets (issue 20):",
        "",
        *verdict_lines(results),
        "",
        f"![ack latency and largest console push against residents waiting]"
        f"({plot_name})",
        "",
    ]
    return "\n".join(lines)


async def run_surge_sweep(
    targets: Sequence[str],
    async_modes: Sequence[str],
    base: LoadProfile,
    levels: Sequence[int],
    progress: Progress,
    *,
    keep: bool = False,
) -> list[RunResult]:
    """Every target in every mode at each number waiting, rising, until it
    is past giving up."""
    sweeping = [(name, mode) for mode in async_modes for name in targets]
    results = []
    with scratch_folder(keep, progress) as scratch:
        for step, waiting in enumerate(levels, 1):
            profile = replace(base, residents=waiting, active=min(base.active, waiting))

            def step_progress(text: str, step: int = step, waiting: int = waiting):
                progress(f"[step {step}/{len(levels)}, {waiting} waiting] {text}")

            for name, mode in list(sweeping):
                workdir = scratch / f"{name}-{mode}-{waiting}"
                result = await run_named(name, mode, workdir, profile, step_progress)
                results.append(result)
                p99 = result.resident_ack.p99
                if result.failure or math.isnan(p99) or p99 > GIVE_UP_ACK_P99_MS:
                    step_progress(f"{result.label}: past giving up, no higher steps")
                    sweeping.remove((name, mode))
            if not sweeping:
                break
    return results


def plot_surge(results: Sequence[RunResult], path: Path) -> None:
    """Ack p50/p99 and the largest console push against the number waiting."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    figure = Figure(figsize=(12, 4.8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    latency, size, join = figure.subplots(1, 3)
    runs: dict[str, list[RunResult]] = {}
    for r in results:
        if not r.failure:
            runs.setdefault(r.label, []).append(r)
    colours = itertools.cycle(f"C{i}" for i in range(10))
    for label, steps in sorted(runs.items()):
        steps.sort(key=lambda r: r.profile.residents)
        waiting = [r.profile.residents for r in steps]
        colour = next(colours)
        latency.plot(
            waiting,
            [r.resident_ack.p99 for r in steps],
            marker="o",
            color=colour,
            label=f"{label} p99",
        )
        latency.plot(
            waiting,
            [r.resident_ack.p50 for r in steps],
            marker=".",
            linestyle="--",
            color=colour,
            label=f"{label} p50",
        )
        size.plot(
            waiting,
            [r.largest_push / 1024 for r in steps],
            marker="o",
            color=colour,
            label=label,
        )
        join.plot(waiting, [r.connect_seconds for r in steps], marker="o", color=colour)
    for axes, level, text in (
        (latency, TARGET_ACK_P99_MS, "150 ms: p99 target at 1,000"),
        (latency, TARGET_ACK_P99_MS_AT_4000, "500 ms: p99 target at 4,000"),
        (size, TARGET_PUSH_BYTES / 1024, "64 KB: largest push target"),
        (join, TARGET_JOIN_SECONDS, "10 s: all joined at 1,000"),
    ):
        axes.axhline(level, color="grey", linewidth=0.8, linestyle=":")
        axes.annotate(
            text,
            (0, level),
            xycoords=("axes fraction", "data"),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
            color="grey",
        )
    levels = sorted({r.profile.residents for r in results})
    for axes in (latency, size, join):
        axes.set_xscale("log")
        axes.set_xticks(levels)
        axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("residents waiting")
        axes.grid(True, which="major", alpha=0.3)
    latency.set_yscale("log")
    latency.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    latency.set_ylabel("waiting resident's ack, ms (log scale)")
    latency.set_title("Ack latency: p99 solid, p50 dashed")
    latency.legend(fontsize=7, loc="upper left")
    size.set_ylabel("largest push to a console, KB")
    size.set_title("Largest console push")
    size.set_ylim(bottom=0)
    size.legend(fontsize=7, loc="center right")
    join.set_ylabel("seconds")
    join.set_title("All residents joined")
    join.set_ylim(bottom=0)
    figure.suptitle("Surge: waiting residents, 100 of them writing once a second")
    figure.savefig(path)
