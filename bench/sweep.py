"""Knee sweep: the load at which resident → counsellor p99 crosses 500 ms.

Each target runs once per load level (talking conversations), each run a
fresh server and database like any other run of ``bench.chat_load``, in
increasing order. A target leaves the sweep after a step whose p99 is past
``GIVE_UP_P99_MS`` (or that failed): higher loads would only queue longer.
The knee is reported as the last step at or under 500 ms and the first step
over it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.chat_load import (
    DEFAULT_PROFILE,
    QUICK_PROFILE,
    LoadProfile,
    Progress,
    RunResult,
    run_named,
    scratch_folder,
)

KNEE_P99_MS = 500.0
GIVE_UP_P99_MS = 2000.0
# The DESIGN §4 delivery target, drawn on the plot beside the knee.
TARGET_P99_MS = 150.0
# Around the knees measured on the 2-core machine (bench/results.md); a
# target stops early once it is past GIVE_UP_P99_MS.
DEFAULT_LEVELS = (25, 50, 75, 100, 125, 150, 175, 200, 250)
QUICK_LEVELS = (20, 40)
# Shorter steps than a single run: 20 s measured after 5 s warm-up (2 + 8 s
# quick). Both end before the first escalation re-alerts (30 s after a
# conversation's first crisis message), so a step measures steady messaging,
# not that periodic burst. Each step sets how many talk (``step_profile``);
# active=1 here only keeps any --residents valid.
SWEEP_PROFILE = replace(DEFAULT_PROFILE, active=1, duration=20.0, warmup=5.0)
QUICK_SWEEP_PROFILE = replace(QUICK_PROFILE, active=1, duration=8.0, warmup=2.0)


def parse_levels(text: str) -> tuple[int, ...]:
    """``"100,150,200"`` → ``(100, 150, 200)``, rising, each at least 1."""
    levels = tuple(int(part) for part in text.split(",") if part.strip())
    if not levels or min(levels) < 1 or list(levels) != sorted(set(levels)):
        raise ValueError(f"need rising talking counts >= 1, got {text!r}")
    return levels


def step_profile(base: LoadProfile, talking: int) -> LoadProfile:
    """``base`` with ``talking`` active conversations (and residents for them)."""
    return replace(base, active=talking, residents=max(base.residents, talking))


def is_past(result: RunResult, p99_ms: float) -> bool:
    """Whether r→c p99 is over ``p99_ms``; a failed or silent run counts as over."""
    p99 = result.resident_to_counselor.p99
    return bool(result.failure) or math.isnan(p99) or p99 > p99_ms


async def run_sweep(
    targets: Sequence[str],
    async_modes: Sequence[str],
    base: LoadProfile,
    levels: Sequence[int],
    progress: Progress,
    *,
    keep: bool = False,
) -> list[RunResult]:
    """Every target in every mode at each level, until it is past giving up."""
    sweeping = [(name, mode) for mode in async_modes for name in targets]
    results = []
    with scratch_folder(keep, progress) as scratch:
        for step, talking in enumerate(levels, 1):
            profile = step_profile(base, talking)
            step_progress = _prefixed(
                progress, f"[step {step}/{len(levels)}, {talking} talking]"
            )
            for name, mode in list(sweeping):
                workdir = scratch / f"{name}-{mode}-{talking}"
                result = await run_named(name, mode, workdir, profile, step_progress)
                results.append(result)
                if is_past(result, GIVE_UP_P99_MS):
                    step_progress(
                        f"{result.label}: past {GIVE_UP_P99_MS:.0f} ms p99, "
                        "no higher steps"
                    )
                    sweeping.remove((name, mode))
            if not sweeping:
                break
    return results


def _prefixed(progress: Progress, prefix: str) -> Progress:
    def report(text: str) -> None:
        progress(f"{prefix} {text}")

    return report


def offered_rate(profile: LoadProfile) -> float:
    """Messages a second the clients send: residents plus counsellors' replies."""
    return profile.active * profile.rate * (1 + profile.reply_fraction)


def by_label(results: Sequence[RunResult]) -> dict[str, list[RunResult]]:
    """The sweep's runs per target/mode in running order, each by rising load."""
    runs: dict[str, list[RunResult]] = {}
    for result in results:
        runs.setdefault(result.label, []).append(result)
    return {
        label: sorted(steps, key=lambda r: r.profile.active)
        for label, steps in runs.items()
    }


@dataclass(frozen=True)
class Knee:
    """Where one target's r→c p99 first went over ``KNEE_P99_MS``."""

    label: str
    # The target's runs, by rising load.
    steps: tuple[RunResult, ...]

    @property
    def first_over(self) -> RunResult | None:
        """The first step over the knee's p99 (or failed), if any."""
        over = self._first_over_index()
        return None if over is None else self.steps[over]

    @property
    def last_under(self) -> RunResult | None:
        """The step just before ``first_over`` (the last one, if none is over)."""
        over = self._first_over_index()
        under = self.steps if over is None else self.steps[:over]
        return under[-1] if under else None

    def _first_over_index(self) -> int | None:
        return next(
            (i for i, r in enumerate(self.steps) if is_past(r, KNEE_P99_MS)), None
        )

    def describe(self) -> str:
        """``between 250 and 300 talking conversations (300–360 msg/s offered)``."""
        under, over = self.last_under, self.first_over
        if over is not None and under is not None:
            return (
                f"between {under.profile.active} and {over.profile.active} talking "
                f"conversations ({offered_rate(under.profile):.0f}–"
                f"{offered_rate(over.profile):.0f} msg/s offered)"
            )
        if over is not None:
            return (
                f"below {over.profile.active} talking conversations "
                "(over already at the first step)"
            )
        if under is not None:
            return (
                f"not reached: p99 ≤ {KNEE_P99_MS:.0f} ms up to "
                f"{under.profile.active} talking conversations "
                f"({offered_rate(under.profile):.0f} msg/s offered)"
            )
        return "no step ran"


def find_knees(results: Sequence[RunResult]) -> list[Knee]:
    """One knee per target/mode of the sweep."""
    return [Knee(label, tuple(steps)) for label, steps in by_label(results).items()]


def plot_latency_vs_load(results: Sequence[RunResult], path: Path) -> None:
    """Draw r→c p50 (dashed) and p99 (solid) against talking conversations."""
    # The Agg canvas directly, not pyplot: no global figure state, no display.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, NullFormatter

    figure = Figure(figsize=(8, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for label, steps in by_label(results).items():
        measured = [r for r in steps if not r.failure]
        talking = [r.profile.active for r in measured]
        (line,) = axes.plot(
            talking,
            [r.resident_to_counselor.p99 for r in measured],
            marker="o",
            label=f"{label} p99",
        )
        axes.plot(
            talking,
            [r.resident_to_counselor.p50 for r in measured],
            marker=".",
            linestyle="--",
            color=line.get_color(),
            label=f"{label} p50",
        )
    for level, text in (
        (TARGET_P99_MS, "150 ms: DESIGN §4 p99 target"),
        (KNEE_P99_MS, "500 ms: knee"),
    ):
        axes.axhline(level, color="grey", linewidth=0.8, linestyle=":")
        axes.annotate(
            text,
            (1, level),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            horizontalalignment="right",
            fontsize=8,
            color="grey",
        )
    axes.set_yscale("log")
    # 1, 10, 100, 1000 rather than powers of ten: read at a glance.
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xticks(sorted({r.profile.active for r in results}))
    axes.set_xlabel("talking conversations")
    axes.set_ylabel("resident → counsellor latency, ms (log scale)")
    axes.set_title("Chat latency against load: p99 solid, p50 dashed")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.savefig(path)
