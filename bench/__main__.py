"""``make bench``: chat load on Hotline and the bare relay, in each async mode.

    python -m bench                      # default load, threading and gevent
    python -m bench --quick              # small load, under two minutes
    python -m bench --only relay --modes gevent --duration 20
    python -m bench --only chat --only hotline-2w --postgres URL
    python -m bench --sweep 100,200,300 --only relay --only hotline --modes gevent
    python -m bench --surge --modes gevent          # 2,000 waiting, 100 writing
    python -m bench --surge --waiting 1000 --writing 100 --consoles 1
    python -m bench --surge --sweep 250,500,1000,2000,4000 --modes gevent

Each run starts its own servers on free 127.0.0.1 ports and stops them on the
way out (also on Ctrl+C). The table is printed and written between markers in
``bench/results.md`` (one block per profile, so a quick run never overwrites
the default one); ``--json`` keeps the raw numbers too. ``--sweep`` runs each
target at rising loads to find where r→c p99 crosses 500 ms, writes its own
block and plots latency against load beside the results file. ``--surge``
is issue 20's profile: N residents waiting, T of them writing, C consoles
watching the queue, nothing claimed; with ``--sweep`` it steps the number
waiting and plots ack latency and push size against it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType

from bench.chat_load import (
    DEFAULT_PROFILE,
    QUICK_PROFILE,
    QUICK_SURGE_PROFILE,
    ROOT,
    SURGE_PROFILE,
    HotlinePostgresTarget,
    HotlineTwoWorkerTarget,
    LoadProfile,
    RunResult,
    run_matrix,
    scaled,
)
from bench.surge import (
    QUICK_SURGE_LEVELS,
    SURGE_LEVELS,
    plot_surge,
    run_surge_sweep,
    surge_report,
    surge_sweep_report,
)
from bench.sweep import (
    DEFAULT_LEVELS,
    GIVE_UP_P99_MS,
    KNEE_P99_MS,
    QUICK_LEVELS,
    QUICK_SWEEP_PROFILE,
    SWEEP_PROFILE,
    Knee,
    find_knees,
    parse_levels,
    plot_latency_vs_load,
    run_sweep,
)

RESULTS = Path(__file__).resolve().parent / "results.md"
TRIAGE_BENCH = Path(__file__).resolve().parent / "triage_bench.py"
ASYNC_MODES = ("threading", "gevent")
# Chat targets in the order they run; "chat" in --only means hotline, and
# hotline-pg too when --postgres is given.
CHAT_TARGETS = ("relay", "relay-durable", "hotline", "hotline-pg", "hotline-2w")
RELAYS = ("relay", "relay-durable")
NEEDS_POSTGRES = ("hotline-pg", "hotline-2w")
# DESIGN.md §4, chat; the p50 ratio is over the durable relay (issue 20).
TARGET_P99_MS = 150.0
TARGET_P50_RATIO = 2.0
TARGET_P50_BASELINE = "relay-durable"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="small load, under two minutes in all"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=("chat", "triage", *CHAT_TARGETS),
        help="run only these parts (repeatable): chat = Hotline under load "
        "(hotline, plus hotline-pg with --postgres), relay = the bare "
        "python-socketio baseline, relay-durable = the same relay storing each "
        "message (INSERT + COMMIT, SQLite WAL) before acking, hotline-2w = two "
        "workers on PostgreSQL and Redis (needs --postgres), triage = "
        "bench.triage_bench",
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="also run Hotline on PostgreSQL: an account that may create "
        "databases, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        default=HotlineTwoWorkerTarget.redis_url,
        help="Redis for hotline-2w's message queue (default: %(default)s); "
        "each run takes a pub/sub channel of its own",
    )
    parser.add_argument(
        "--sweep",
        nargs="?",
        const="",
        metavar="TALKING",
        help="find the knee: run each chat target at these comma-separated "
        "numbers of talking conversations (default "
        f"{','.join(map(str, DEFAULT_LEVELS))}, quick "
        f"{','.join(map(str, QUICK_LEVELS))}), {SWEEP_PROFILE.warmup:g} s warm-up + "
        f"{SWEEP_PROFILE.duration:g} s measured each ({QUICK_SWEEP_PROFILE.warmup:g}"
        f" + {QUICK_SWEEP_PROFILE.duration:g} s quick)",
    )
    parser.add_argument(
        "--surge",
        action="store_true",
        help="issue 20's surge: N residents waiting (--waiting, default "
        f"{SURGE_PROFILE.residents}), T of them writing once a second "
        f"(--writing, default {SURGE_PROFILE.active}), C consoles open "
        f"(--consoles, default {SURGE_PROFILE.counselors}); nothing claimed. "
        "With --sweep, the levels are numbers waiting (default "
        f"{','.join(map(str, SURGE_LEVELS))}, quick "
        f"{','.join(map(str, QUICK_SURGE_LEVELS))})",
    )
    parser.add_argument(
        "--modes",
        default=",".join(ASYNC_MODES),
        help="comma-separated Socket.IO async modes (default: %(default)s)",
    )
    group = parser.add_argument_group("load (defaults from the profile)")
    group.add_argument(
        "--residents",
        "--waiting",
        dest="residents",
        type=int,
        help="connected residents (surge: residents waiting)",
    )
    group.add_argument(
        "--active",
        "--writing",
        dest="active",
        type=int,
        help="conversations that talk (surge: waiting residents writing)",
    )
    group.add_argument(
        "--counselors",
        "--consoles",
        dest="counselors",
        type=int,
        help="counsellor connections (surge: consoles open)",
    )
    group.add_argument("--duration", type=float, help="measured seconds")
    group.add_argument("--warmup", type=float, help="unmeasured seconds first")
    group.add_argument("--rate", type=float, help="messages/s per conversation")
    group.add_argument("--reply-fraction", type=float, help="share answered")
    parser.add_argument(
        "--name",
        help="name of this load profile's block in the results file "
        "(default: default, quick, or custom when a load option is given); "
        "a sweep's block is sweep-NAME, or sweep for the default profile",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the whole matrix N times, alternating order (noisy machines)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="markdown file to update (default: bench/results.md)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="print only, write no file"
    )
    parser.add_argument("--json", type=Path, help="also write raw results as JSON")
    parser.add_argument(
        "--keep", action="store_true", help="keep server logs and databases"
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="py-spy each server over the measured window; summaries into DIR "
        "(slows the server: do not compare its numbers with unprofiled runs)",
    )
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - set(ASYNC_MODES)
    if unknown:
        parser.error(f"unknown async mode(s): {', '.join(sorted(unknown))}")
    args.targets = chosen_targets(args.only, has_postgres=bool(args.postgres))
    for name in NEEDS_POSTGRES:
        if name in args.targets and not args.postgres:
            parser.error(f"{name} needs --postgres URL")
    if args.sweep is not None:
        check_sweep_args(parser, args)
    return args


def chosen_targets(only: Sequence[str] | None, *, has_postgres: bool) -> list[str]:
    """The chat targets ``--only`` asks for, in their running order."""
    wanted = set(only or ["chat", *RELAYS])
    if "chat" in wanted:
        wanted |= {"hotline", "hotline-pg"} if has_postgres else {"hotline"}
    return [name for name in CHAT_TARGETS if name in wanted]


def check_sweep_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Parse the sweep's levels and refuse options a sweep has no use for."""
    if args.surge:
        defaults = QUICK_SURGE_LEVELS if args.quick else SURGE_LEVELS
    else:
        defaults = QUICK_LEVELS if args.quick else DEFAULT_LEVELS
    try:
        args.sweep = parse_levels(args.sweep) if args.sweep else defaults
    except ValueError as error:
        parser.error(f"--sweep: {error}")
    if args.residents is not None and args.surge:
        parser.error("--surge --sweep sets the number waiting; drop --waiting")
    if args.active is not None and not args.surge:
        parser.error("--sweep sets the talking conversations; drop --active")
    if args.repeat != 1 or args.profile is not None:
        parser.error("--sweep runs each step once, unprofiled: drop --repeat/--profile")
    if "triage" in (args.only or []):
        parser.error("--sweep measures chat only: drop --only triage")
    if not args.targets:
        parser.error("--sweep needs a chat target in --only")


def make_profile(args: argparse.Namespace) -> LoadProfile:
    if args.surge:
        base = QUICK_SURGE_PROFILE if args.quick else SURGE_PROFILE
    elif args.sweep is not None:
        base = QUICK_SWEEP_PROFILE if args.quick else SWEEP_PROFILE
    else:
        base = QUICK_PROFILE if args.quick else DEFAULT_PROFILE
    profile = scaled(
        base,
        residents=args.residents,
        active=args.active,
        counselors=args.counselors,
        duration=args.duration,
        warmup=args.warmup,
        rate=args.rate,
        reply_fraction=args.reply_fraction,
    )
    if args.name:
        return replace(profile, name=args.name)
    if args.surge and profile.name == "custom":
        return replace(profile, name="surge-custom")
    return profile


class Progress:
    """One line per step on stderr; the load counter rewrites its line on a TTY."""

    def __init__(self) -> None:
        self.is_tty = sys.stderr.isatty()
        self.open_line = False
        self.last_plain = 0.0

    def __call__(self, text: str) -> None:
        is_counter = ": load " in text
        if is_counter and self.is_tty:
            sys.stderr.write("\r" + text.ljust(70))
            self.open_line = True
        else:
            if is_counter:
                # Not a terminal (CI logs): one counter line every 10 s.
                if time.monotonic() - self.last_plain < 10:
                    return
                self.last_plain = time.monotonic()
            if self.open_line:
                sys.stderr.write("\n")
                self.open_line = False
            sys.stderr.write(text + "\n")
        sys.stderr.flush()


# --------------------------------------------------------------------------
# Report


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.1f}"


def error_count(r: RunResult) -> int:
    """Failed connects, dropped sockets, error acks, missing acks, seq mismatches."""
    return (
        r.connect_errors
        + r.disconnects
        + sum(r.error_acks.values())
        + r.unacked
        + r.seq_mismatches
        + r.unexpected
    )


def cpu_ms_per_message(r: RunResult) -> float:
    """Server CPU per acked message, in ms."""
    # % of a core over msgs/s = core-seconds per message; x10 = ms.
    return 10 * r.server_cpu_percent / r.throughput if r.throughput else math.nan


def total_cpu_ms_per_message(r: RunResult) -> float:
    """Server plus PostgreSQL and Redis CPU per acked message, in ms: what a
    message costs the whole installation (issue 20, item 7)."""
    cpu = r.server_cpu_percent + r.services_cpu_percent
    return 10 * cpu / r.throughput if r.throughput else math.nan


def _machine_columns(r: RunResult) -> str:
    """Client, PostgreSQL + Redis and other CPU %, as table cells."""
    return (
        f"{r.client_cpu_percent:.0f} | {r.services_cpu_percent:.0f} "
        f"| {max(0.0, r.other_cpu_percent):.0f}"
    )


def results_table(results: Sequence[RunResult]) -> str:
    head = (
        "| run | sent | acked | lost | dup | errors | r→c p50 | r→c p95 | r→c p99 "
        "| r→c max | c→r p50 | c→r p99 | ack p50 | ack p99 | acked msg/s "
        "| server CPU % | server CPU ms/msg | total CPU ms/msg | RSS MB idle/peak "
        "| threads | client CPU % | PG+Redis CPU % | others CPU % |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        if r.failure:
            rows.append(f"| {r.run_label} | failed: {r.failure.splitlines()[0]} |")
            continue
        lost = r.lost + r.lost_echoes
        r2c, c2r, ack = r.resident_to_counselor, r.counselor_to_resident, r.resident_ack
        rows.append(
            f"| {r.run_label} | {r.sent} | {r.acked} | {lost} | {r.duplicated} "
            f"| {error_count(r)} | {_ms(r2c.p50)} | {_ms(r2c.p95)} | {_ms(r2c.p99)} "
            f"| {_ms(r2c.max)} | {_ms(c2r.p50)} | {_ms(c2r.p99)} | {_ms(ack.p50)} "
            f"| {_ms(ack.p99)} | {r.throughput:.1f} | {r.server_cpu_percent:.0f} "
            f"| {_ms(cpu_ms_per_message(r))} | {_ms(total_cpu_ms_per_message(r))} "
            f"| {r.server_rss_idle_mb:.0f}/{r.server_rss_peak_mb:.0f} "
            f"| {r.server_threads_peak} | {_machine_columns(r)} |"
        )
    return "\n".join(rows)


def _ratio(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or b <= 0:
        return math.nan
    return a / b


def _fmt(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def ratio_lines(results: Sequence[RunResult]) -> list[str]:
    """Hotline over each relay, pairing runs of the same mode and repeat; the
    p50 target is over the durable relay (issue 20 re-based it)."""
    runs = {(r.target, r.async_mode, r.repeat): r for r in results if not r.failure}
    variants = sorted({r.target for r in results if r.target not in RELAYS})
    lines = []
    for variant, baseline, mode in itertools.product(variants, RELAYS, ASYNC_MODES):
        pairs = [
            (runs[key], runs[(baseline, mode, key[2])])
            for key in sorted(runs, key=lambda key: key[2])
            if key[:2] == (variant, mode) and (baseline, mode, key[2]) in runs
        ]
        if not pairs:
            continue
        target = (
            f"target ≤ {TARGET_P50_RATIO}"
            if baseline == TARGET_P50_BASELINE
            else "no target: a durable write alone costs more"
        )
        r2c = [(h.resident_to_counselor, b.resident_to_counselor) for h, b in pairs]
        p50 = [_ratio(h.p50, b.p50) for h, b in r2c]
        p99 = [_ratio(h.p99, b.p99) for h, b in r2c]
        ack = [_ratio(h.resident_ack.p50, b.resident_ack.p50) for h, b in pairs]
        cpu = [_ratio(h.server_cpu_percent, b.server_cpu_percent) for h, b in pairs]
        each = ", ".join(_fmt(v) for v in p50)
        lines.append(
            f"- {variant}/{mode} over {baseline}/{mode}: r→c p50 "
            f"**{_fmt(_median(p50))}** ({target}"
            + (f"; median of {each}" if len(pairs) > 1 else "")
            + f"); r→c p99 {_fmt(_median(p99))}; ack p50 {_fmt(_median(ack))}; "
            f"server CPU {_fmt(_median(cpu))}"
        )
    return lines


def _median(values: Sequence[float]) -> float:
    known = sorted(v for v in values if not math.isnan(v))
    return statistics.median(known) if known else math.nan


def verdict_lines(results: Sequence[RunResult], profile: LoadProfile) -> list[str]:
    lines = []
    durable = {
        (r.async_mode, r.repeat): r.resident_to_counselor.p50
        for r in results
        if r.target == TARGET_P50_BASELINE and not r.failure
    }
    is_default_load = (profile.residents, profile.active, profile.rate) == (
        DEFAULT_PROFILE.residents,
        DEFAULT_PROFILE.active,
        DEFAULT_PROFILE.rate,
    )
    for r in results:
        if r.failure:
            lines.append(f"- {r.run_label}: FAILED — {r.failure.splitlines()[0]}")
            continue
        checks = [("no loss, duplicate or error", r.is_clean)]
        if r.target.startswith("hotline"):
            p99 = r.resident_to_counselor.p99
            checks.append((f"r→c p99 ≤ {TARGET_P99_MS:.0f} ms", p99 <= TARGET_P99_MS))
            floor = durable.get((r.async_mode, r.repeat))
            if floor is not None:
                ratio = _ratio(r.resident_to_counselor.p50, floor)
                checks.append(
                    (
                        f"r→c p50 ≤ {TARGET_P50_RATIO:g}× the durable relay "
                        f"({_fmt(ratio)}×)",
                        ratio <= TARGET_P50_RATIO,
                    )
                )
        text = "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks)
        detail = []
        if r.error_acks:
            detail.append(f"error acks {r.error_acks}")
        if r.unacked:
            detail.append(f"{r.unacked} unacked")
        if r.dropped:
            kinds = Counter(f"{side} ({why or '?'})" for side, _, why in r.dropped)
            times = [at for _, at, _ in r.dropped]
            detail.append(
                f"sockets dropped: "
                f"{', '.join(f'{n} {kind}' for kind, n in kinds.items())}, "
                f"{min(times):.0f}–{max(times):.0f} s after sending began"
            )
        if r.stored is not None:
            detail.append(f"{r.stored} stored for {r.acked} acked")
        extra = f" ({', '.join(detail)})" if detail else ""
        lines.append(f"- {r.run_label}: {text}{extra}")
    if not is_default_load:
        lines.append(
            "- (not the DESIGN §4 load of 500 residents / 100 active at 1 msg/s: "
            "targets are indicative only)"
        )
    return lines


def machine_lines() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    versions = []
    for package in ("python-socketio", "python-engineio", "flask-socketio", "gevent"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    return [
        f"- machine: {cpu}, {os.cpu_count()} cores{memory}; "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {', '.join(versions)}",
        f"- code: {_git_revision()}",
    ]


def _git_revision() -> str:
    try:
        revision = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{revision}{' + uncommitted changes' if dirty else ''}"


COLUMNS_NOTE = (
    "Latencies in ms, measured in the load client with one monotonic clock: "
    "r→c = resident send → counsellor receives the push, c→r the other way, "
    "ack = resident send → ack. Lost counts acked messages that never reached "
    "the other side or never came back to the sender's side; errors count "
    "failed connects, dropped sockets, error acks, missing acks and seq "
    "mismatches. CPU is % of one core over the measured window, and per "
    "acked message (CPU ms/msg: the least noisy cost figure on a shared "
    "machine); PG+Redis is the CPU of the whole PostgreSQL and Redis servers "
    "(other users of them count too), and total CPU ms/msg is the server's "
    "and theirs together per acked message; 'others' is what the rest of the "
    "machine used meanwhile (this machine is shared: other people's tests "
    "compete with the server)."
)


def target_lines(results: Sequence[RunResult]) -> list[str]:
    """What each Hotline variant among ``results`` runs on."""
    names = {r.target for r in results}
    lines = []
    if "relay-durable" in names:
        lines.append(
            "- relay-durable: the bare relay storing each message with one "
            "INSERT + COMMIT in a SQLite file (WAL, synchronous=NORMAL, as "
            "`hotline/database.py`) before pushing and acking it"
        )
    if "hotline" in names:
        lines.append("- hotline: one `hotline serve` worker on SQLite (WAL)")
    if "hotline-pg" in names:
        lines.append("- hotline-pg: one worker on PostgreSQL")
    if "hotline-2w" in names:
        two_workers = [r for r in results if r.target == "hotline-2w" and not r.failure]
        talking = sum(r.profile.active for r in two_workers)
        crossing = sum(r.cross_worker for r in two_workers)
        share = f"{crossing / talking:.0%}" if talking else "about half"
        lines.append(
            "- hotline-2w: two `hotline serve` workers on two ports, one "
            "PostgreSQL database, Socket.IO rooms linked through Redis pub/sub "
            f"(a channel of the run's own); in {share} of the talking "
            "conversations the resident and the counsellor are on different "
            "workers, so their messages cross through Redis; server CPU, RSS "
            "and threads are summed over both workers"
        )
    return lines


def report(
    results: Sequence[RunResult], profile: LoadProfile, command: str, started: datetime
) -> str:
    p = profile
    lines = [
        f"### Chat load — profile `{p.name}` — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}`",
        "",
        *machine_lines(),
        f"- load: {p.residents} residents connected, {p.active} active at "
        f"{p.rate:g} msg/s each, {p.counselors} counsellors holding them, "
        f"replying to {p.reply_fraction:.0%}; {p.warmup:g} s warm-up + "
        f"{p.duration:g} s measured; websocket transport",
        *target_lines(results),
        "",
        results_table(results),
        "",
        COLUMNS_NOTE,
        "",
    ]
    ratios = ratio_lines(results)
    if ratios:
        lines += ["Hotline against the relays in the same run:", "", *ratios, ""]
    lines += ["Targets (DESIGN §4):", "", *verdict_lines(results, profile), ""]
    return "\n".join(lines)


def sweep_table(knees: Sequence[Knee]) -> str:
    """One row per step, grouped by target."""
    head = (
        "| run | talking | acked msg/s | r→c p50 | r→c p95 | r→c p99 | r→c max "
        "| lost | dup | errors | server CPU % | server CPU ms/msg | client CPU % "
        "| PG+Redis CPU % | others CPU % |"
    )
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in (step for knee in knees for step in knee.steps):
        if r.failure:
            rows.append(
                f"| {r.label} | {r.profile.active} "
                f"| failed: {r.failure.splitlines()[0]} |"
            )
            continue
        r2c = r.resident_to_counselor
        rows.append(
            f"| {r.label} | {r.profile.active} | {r.throughput:.1f} "
            f"| {_ms(r2c.p50)} | {_ms(r2c.p95)} | {_ms(r2c.p99)} | {_ms(r2c.max)} "
            f"| {r.lost + r.lost_echoes} | {r.duplicated} | {error_count(r)} "
            f"| {r.server_cpu_percent:.0f} | {_ms(cpu_ms_per_message(r))} "
            f"| {_machine_columns(r)} |"
        )
    return "\n".join(rows)


def knee_lines(knees: Sequence[Knee]) -> list[str]:
    """Each target's knee, then two workers against one at their knees."""
    lines = [f"- {knee.label}: **{knee.describe()}**" for knee in knees]
    by_label = {knee.label: knee for knee in knees}
    for one_worker, mode in itertools.product(("hotline", "hotline-pg"), ASYNC_MODES):
        one = by_label.get(f"{one_worker}/{mode}")
        two = by_label.get(f"hotline-2w/{mode}")
        if one is None or two is None or not (one.last_under and two.last_under):
            continue
        one_rate, two_rate = one.last_under.throughput, two.last_under.throughput
        lines.append(
            f"- hotline-2w over {one_worker} ({mode}), acked msg/s at the last "
            f"step under {KNEE_P99_MS:.0f} ms: {two_rate:.0f} / {one_rate:.0f} = "
            f"**{_fmt(_ratio(two_rate, one_rate))}**"
            + (
                ""
                if one.first_over and two.first_over
                else " (a bound only: a target never crossed within the sweep)"
            )
        )
    return lines


def sweep_report(
    results: Sequence[RunResult],
    profile: LoadProfile,
    command: str,
    started: datetime,
    plot_name: str,
) -> str:
    p = profile
    knees = find_knees(results)
    lines = [
        f"### Knee sweep — profile `{p.name}` — {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{command}`",
        "",
        *machine_lines(),
        f"- load per step: {p.residents} residents connected (more if more talk), "
        f"the step's number of them talking at {p.rate:g} msg/s each, "
        f"{p.counselors} counsellors holding them, replying to "
        f"{p.reply_fraction:.0%}; {p.warmup:g} s warm-up + {p.duration:g} s "
        "measured; a fresh server and database each step; a target leaves the "
        f"sweep after a step past {GIVE_UP_P99_MS:.0f} ms r→c p99",
        *target_lines(results),
        "",
        sweep_table(knees),
        "",
        COLUMNS_NOTE,
        "",
        f"Knee (where r→c p99 crosses {KNEE_P99_MS:.0f} ms):",
        "",
        *knee_lines(knees),
        "",
        f"![r→c p50 and p99 against talking conversations]({plot_name})",
        "",
    ]
    return "\n".join(lines)


def write_block(path: Path, name: str, body: str) -> None:
    """Replace (or append) the block between this profile's markers."""
    begin, end = f"<!-- bench:chat:{name}:begin -->", f"<!-- bench:chat:{name}:end -->"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else _results_header()
    if begin in text and end in text:
        before, rest = text.split(begin, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def _results_header() -> str:
    return (
        "# Benchmark results\n\n"
        "Written by `make bench` (`python -m bench`); each block below is the "
        "latest run of one profile. Notes outside the marked blocks are kept.\n"
    )


def run_triage_bench(quick: bool) -> int:
    """Hand over to ``bench.triage_bench`` (its own results file) if it exists."""
    if not TRIAGE_BENCH.exists():
        print("bench/triage_bench.py not found; skipping triage", file=sys.stderr)
        return 0
    command = [
        sys.executable,
        "-m",
        "bench.triage_bench",
        *(["--quick"] if quick else []),
    ]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl+C, so every server is stopped on the way out.
    raise KeyboardInterrupt(f"signal {signum}")


def load(
    args: argparse.Namespace, profile: LoadProfile, command: str, started: datetime
) -> int:
    """Run every chosen target at one load; report; 1 if any run failed."""
    results = asyncio.run(
        run_matrix(
            args.targets,
            args.modes,
            profile,
            Progress(),
            repeats=args.repeat,
            keep=args.keep,
            spy_dir=args.profile,
        )
    )
    text = report(results, profile, command, started)
    print("\n" + text)
    if not args.no_write:
        write_block(args.results, profile.name, text)
        print(f"updated {args.results}", file=sys.stderr)
    if args.json:
        write_json(args.json, results)
    return 1 if any(r.failure for r in results) else 0


def sweep(
    args: argparse.Namespace, profile: LoadProfile, command: str, started: datetime
) -> int:
    """Run the knee sweep; report and plot; 1 if any step failed."""
    results = asyncio.run(
        run_sweep(
            args.targets, args.modes, profile, args.sweep, Progress(), keep=args.keep
        )
    )
    # The default profile's sweep is the one results.md shows; others get
    # their own block and plot.
    suffix = "" if profile.name == DEFAULT_PROFILE.name else f"-{profile.name}"
    plot = args.results.with_name(f"latency-vs-load{suffix}.png")
    text = sweep_report(results, profile, command, started, plot.name)
    print("\n" + text)
    if not args.no_write:
        plot_latency_vs_load(results, plot)
        write_block(args.results, f"sweep{suffix}", text)
        print(f"updated {args.results} and {plot}", file=sys.stderr)
    if args.json:
        write_json(args.json, results)
    return 1 if any(r.failure for r in results) else 0


def surge(
    args: argparse.Namespace, profile: LoadProfile, command: str, started: datetime
) -> int:
    """Run the surge profile once, or swept over the number waiting."""
    progress = Progress()
    header = [*machine_lines(), *target_lines_for_surge(args.targets)]
    if args.sweep is not None:
        results = asyncio.run(
            run_surge_sweep(
                args.targets, args.modes, profile, args.sweep, progress, keep=args.keep
            )
        )
        plot = args.results.with_name(f"{profile.name}-vs-waiting.png")
        text = surge_sweep_report(results, profile, command, started, header, plot.name)
        block = f"{profile.name}-sweep"
    else:
        results = asyncio.run(
            run_matrix(
                args.targets,
                args.modes,
                profile,
                progress,
                repeats=args.repeat,
                keep=args.keep,
                spy_dir=args.profile,
            )
        )
        plot = None
        text = surge_report(results, profile, command, started, header)
        block = profile.name
    print("\n" + text)
    if not args.no_write:
        if plot is not None:
            plot_surge(results, plot)
        write_block(args.results, block, text)
        print(f"updated {args.results}", file=sys.stderr)
    if args.json:
        write_json(args.json, results)
    return 1 if any(r.failure for r in results) else 0


def target_lines_for_surge(targets: Sequence[str]) -> list[str]:
    """What each target of a surge run is."""
    lines = [
        "- relay: the bare python-socketio relay (no storage); a waiting "
        "resident's message goes back to the resident and, as a one-item "
        "`queue_item`, to the consoles",
        "- relay-durable: the same relay storing each message with one INSERT "
        "+ COMMIT in a SQLite file (WAL, synchronous=NORMAL, as "
        "`hotline/database.py`) before pushing and acking it",
        "- hotline: one `hotline serve` worker on SQLite (WAL)",
        "- hotline-pg: one `hotline serve` worker on PostgreSQL",
    ]
    return [line for line in lines if line[2:].split(":")[0] in targets]


def write_json(path: Path, results: Sequence[RunResult]) -> None:
    """The raw numbers of every run."""
    path.write_text(json.dumps([r.to_dict() for r in results], indent=2, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    HotlinePostgresTarget.admin_url = args.postgres
    HotlineTwoWorkerTarget.redis_url = args.redis
    parts = args.only or ["chat", "relay", "triage"]
    profile = make_profile(args)
    started = datetime.now(UTC)
    command = shlex.join(["python", "-m", "bench", *(argv or sys.argv[1:])])
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        # Profiled numbers are slower than real ones; never record them.
        args.no_write = True
    status = 0
    try:
        if args.surge:
            return surge(args, profile, command, started)
        if args.sweep is not None:
            return sweep(args, profile, command, started)
        if args.targets:
            status = load(args, profile, command, started)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    if "triage" in parts:
        status = run_triage_bench(args.quick) or status
    return status


if __name__ == "__main__":
    sys.exit(main())
