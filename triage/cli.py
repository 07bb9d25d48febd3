"""`hotline triage …` commands: score, train, evaluate, explain."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from triage.store import TriageModel

# Heavy imports (NumPy, scikit-learn) happen inside the commands so that the
# `hotline` console script starts fast for its other commands.

_MODEL_OPTION = click.option(
    "--model",
    "model_path",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Artefact (.skops) to use instead of the default model.",
)


def _load(model_path: Path | None) -> TriageModel:
    from triage.store import ArtefactError, get_default_model, load_model

    try:
        return load_model(model_path) if model_path else get_default_model()
    except ArtefactError as error:
        raise click.ClickException(str(error)) from error


def _error_line(code: str, message: str, line: int) -> str:
    return json.dumps({"error": {"code": code, "message": message, "line": line}})


def _parse_request(raw: str) -> tuple[str, str | None, list[Any] | None]:
    """Text, language and context of one input line; ValueError if bad."""
    try:
        request = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid_json: {error.msg}") from error
    if not isinstance(request, dict):
        raise ValueError("invalid_input: each line must be a JSON object")
    text = request.get("text")
    if not isinstance(text, str):
        raise ValueError('invalid_input: "text" must be a string')
    lang = request.get("lang")
    if lang is not None and lang not in ("zh", "en", "mixed"):
        raise ValueError('invalid_input: "lang" must be "zh", "en" or "mixed"')
    context = request.get("context")
    if context is not None:
        from triage.context import coerce_context

        if not isinstance(context, list):
            raise ValueError('invalid_input: "context" must be a list of messages')
        try:
            context = coerce_context(context)
        except (TypeError, ValueError) as error:
            raise ValueError(f"invalid_input: {error}") from error
    return text, lang, context


def score_stream(
    source: TextIO, sink: TextIO, model: TriageModel, *, detail: bool = False
) -> int:
    """Score JSON lines from source into sink; return the number of bad lines.

    Blank lines are skipped. A bad line produces an error object on its own
    line and scoring continues.
    """
    from triage.assessment import assess

    bad = 0
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        try:
            text, lang, context = _parse_request(raw)
        except ValueError as error:
            code, _, message = str(error).partition(": ")
            sink.write(_error_line(code, message, number) + "\n")
            bad += 1
        else:
            assessment = assess(text, lang, model=model, context=context)
            result = assessment.to_dict()
            if context is not None or detail:
                # Only when asked for: the DESIGN §3 line stays as it was.
                result["uncertain"] = assessment.uncertain
                result["context_used"] = list(assessment.context_used)
            sink.write(json.dumps(result, ensure_ascii=False) + "\n")
        sink.flush()
    return bad


@click.group(name="triage")
def triage_cli() -> None:
    """Risk triage of resident messages: score, train, evaluate, explain."""


@triage_cli.command("score")
@click.option(
    "--detail", is_flag=True, help='Add "uncertain" and "context_used" to each line.'
)
@_MODEL_OPTION
def score_command(detail: bool, model_path: Path | None) -> None:
    """Read {"text": ..., "lang"?: ..., "context"?: [...]} JSON lines on stdin,
    write one result each.

    Output lines are {"level", "score", "signals", "needs", "model"}, plus
    "uncertain" and "context_used" when the line had a context or the model
    is unsure; "context" is a list of {"text", "sender": "resident" |
    "counselor"}, oldest first. A bad
    line gives {"error": {"code", "message", "line"}} and scoring continues.
    The exit status is 1 if any line was bad.
    """
    model = _load(model_path)
    source = sys.stdin
    if hasattr(source, "reconfigure"):
        # Bytes that are not UTF-8 become U+FFFD instead of ending the stream.
        source.reconfigure(encoding="utf-8", errors="replace")
    bad = score_stream(source, sys.stdout, model, detail=detail)
    if bad:
        click.echo(f"{bad} bad input line(s)", err=True)
        raise SystemExit(1)


@triage_cli.command("train")
@click.option(
    "--extra",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Extra labelled data (.jsonl or .tsv with text and level); repeatable.",
)
@click.option(
    "--if-stale",
    is_flag=True,
    help="Train only if the artefact is missing, unreadable, of another format "
    "or built from other data or code (what `make setup` runs).",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for the artefact (default: triage/artifacts).",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Corpus directory (default: the authored corpus in triage/data/corpus).",
)
@click.option(
    "--as-default",
    is_flag=True,
    help="With --extra, save as the default model instead of extra-<hash>.",
)
@click.option(
    "--real/--no-real",
    default=None,
    help="Train on PsySUICIDE's real text too (default: with the shipped corpus).",
)
def train_command(
    extra: tuple[Path, ...],
    if_stale: bool,
    output: Path | None,
    corpus: Path | None,
    as_default: bool,
    real: bool | None,
) -> None:
    """Train the model on the authored corpus (plus --extra files)."""
    from triage.corpus import CORPUS_DIR, CorpusError
    from triage.store import DEFAULT_NAME, artefact_paths, stale_reason
    from triage.train import extra_artefact_name, train, training_inputs

    name = DEFAULT_NAME
    if extra and not as_default:
        name = extra_artefact_name(list(extra))
    model_path, _ = artefact_paths(name, output)
    corpus_dir = corpus or CORPUS_DIR
    if if_stale:
        try:
            inputs = training_inputs(corpus_dir=corpus_dir, extra=extra, real=real)
        except CorpusError as error:
            raise click.ClickException(str(error)) from error
        reason = stale_reason(model_path, inputs)
        if reason is None:
            click.echo(f"triage model current: {model_path}")
            return
        click.echo(f"training the triage model: {reason}")
    try:
        result = train(
            corpus_dir=corpus_dir,
            extra=list(extra),
            output_dir=output,
            name=name,
            real=real,
        )
    except CorpusError as error:
        raise click.ClickException(str(error)) from error
    metadata = result.metadata
    test = metadata["metrics"]["test"]
    click.echo(f"saved {result.path} ({metadata['version']})")
    sizes = metadata["split_sizes"]
    tuning = metadata["tuning"]
    trained_on = (
        sizes["train"]
        + sizes["dev"]
        + metadata["augmentation_size"]
        + metadata.get("real_size", 0)
        + metadata["extra_examples"]["train"]
    )
    click.echo(
        f"trained in {metadata['train_seconds']} s on {trained_on} "
        f"messages; thresholds tuned by {tuning['folds']}-fold cross-validation "
        f"on {tuning['pool']} {json.dumps(metadata['thresholds'])}"
    )
    click.echo(
        f"test split: crisis recall {test['crisis_recall']['value']:.3f}, "
        f"urgent recall {test['urgent_recall']['value']:.3f}, "
        f"low→crisis {test['low_flagged_crisis']['value']:.3f}, "
        f"low→urgent {test['low_flagged_urgent']['value']:.3f}, "
        f"macro F1 {test['macro_f1']:.3f}"
    )
    if test["targets_missed"]:
        click.echo("targets missed: " + "; ".join(test["targets_missed"]), err=True)


@triage_cli.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@_MODEL_OPTION
def evaluate_command(file: Path, as_json: bool, model_path: Path | None) -> None:
    """Evaluate on a labelled .jsonl or .tsv FILE (text and level per line)."""
    from triage.corpus import CorpusError, read_labelled
    from triage.evaluate import evaluate_examples, format_report

    try:
        examples = read_labelled(file)
    except CorpusError as error:
        raise click.ClickException(str(error)) from error
    if not examples:
        raise click.ClickException(f"{file} has no labelled lines")
    model = _load(model_path)
    needs_labelled = file.suffix == ".jsonl"
    metrics = evaluate_examples(model, examples, with_needs=needs_labelled)
    metrics["model"] = model.version
    metrics["file"] = str(file)
    if as_json:
        click.echo(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{file}: model {model.version}")
        click.echo(format_report(metrics))


@triage_cli.command("evaluate-test")
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@_MODEL_OPTION
def evaluate_test_command(as_json: bool, model_path: Path | None) -> None:
    """Evaluate on the authored corpus's held-out test split."""
    from triage.corpus import load_corpus, split_corpus
    from triage.evaluate import evaluate_examples, format_report

    model = _load(model_path)
    metrics = evaluate_examples(model, split_corpus(load_corpus())["test"])
    metrics["model"] = model.version
    if as_json:
        click.echo(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        click.echo(f"authored test split: model {model.version}")
        click.echo(format_report(metrics))


@triage_cli.command("cross-source")
@click.option(
    "--held-out",
    default="client_counselor",
    show_default=True,
    help="PsySUICIDE source kept out of training and tuning, then scored.",
)
@click.option(
    "--reverse",
    is_flag=True,
    help="Train on the --held-out source only and score all the others.",
)
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
def cross_source_command(held_out: str, reverse: bool, as_json: bool) -> None:
    """Source-grouped evaluation on PsySUICIDE (trains a model: minutes)."""
    from triage.evaluate import format_report
    from triage.train import source_grouped_evaluation

    try:
        metrics = source_grouped_evaluation(held_out, reverse=reverse)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(metrics, ensure_ascii=False, indent=2))
    else:
        click.echo(
            f"trained on {', '.join(metrics['trained_on_sources'])} + authored; "
            f"tested on {', '.join(metrics['tested_on_sources'])}"
        )
        click.echo(format_report(metrics))


@triage_cli.command("explain")
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@_MODEL_OPTION
def explain_command(text: str, as_json: bool, model_path: Path | None) -> None:
    """Show why TEXT gets its level: probabilities, thresholds, rules, signals."""
    from triage.assessment import explain

    details = explain(text, model=_load(model_path))
    if as_json:
        click.echo(json.dumps(details, ensure_ascii=False, indent=2))
        return
    click.echo(render_explanation(text, details))


def render_explanation(text: str, details: dict[str, Any]) -> str:
    """Human-readable explanation with the matched spans bracketed."""
    probabilities = details["probabilities"]
    thresholds = details["thresholds"]
    lines = [
        f"level: {details['level']} (score {details['score']:.3f})   "
        f"model: {details['model']}",
        "probabilities: "
        + "  ".join(f"{k} {v:.3f}" for k, v in probabilities.items())
        + f"   thresholds: crisis ≥ {thresholds['crisis']}, "
        f"urgent ≥ {thresholds['urgent']}, moderate ≥ {thresholds['moderate']}",
        f"model alone: {details['model_level']}"
        + (
            f"; raised by rules: {', '.join(details['rules'])}"
            if details["raised_by_rules"]
            else ""
        )
        + (
            f"; rules agree: {', '.join(details['rules'])}"
            if details["rules"] and not details["raised_by_rules"]
            else ""
        )
        + (
            "; capped: risk words only negated, idiomatic, past or reported"
            if details["capped"]
            else ""
        )
        + (
            f"; held at {details['level']}: little familiar text "
            f"({details['known_share']:.0%} known) and no rule fired"
            if details.get("unfamiliar")
            else ""
        ),
        "text: " + _bracketed(text, details["signals"]),
    ]
    for title, key in (("signals", "signals"), ("suppressed", "suppressed")):
        if details[key]:
            lines.append(f"{title}:")
            lines.extend(
                f"  {s['kind']:<18} {s['text']!r:<24} [{s['start']}:{s['end']}] "
                f"{s['status']}  ({s['name']}, {s['lang']})"
                for s in details[key]
            )
    lines.append("needs: " + (", ".join(details["needs"]) or "none"))
    if details["top_features"]:
        lines.append("features pushing P(urgent) (+ up, - down):")
        lines.extend(
            f"  {f['weight']:+.3f}  {f['feature']}" for f in details["top_features"]
        )
    return "\n".join(lines)


def _bracketed(text: str, signals: list[dict[str, Any]]) -> str:
    """Text with non-overlapping signal spans in [brackets]."""
    pieces = []
    position = 0
    for signal in sorted(signals, key=lambda s: (s["start"], -s["end"])):
        if signal["start"] < position:
            continue
        pieces.append(text[position : signal["start"]])
        pieces.append(f"[{text[signal['start'] : signal['end']]}]")
        position = signal["end"]
    pieces.append(text[position:])
    return "".join(pieces)
