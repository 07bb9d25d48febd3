"""`hotline triage …` commands through click's CliRunner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import triage.train
from triage.cli import triage_cli
from triage.store import TriageModel, artefact_paths, load_model, save_model

from .conftest import FIXTURES


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_score_writes_one_result_per_line(fixture_model: TriageModel) -> None:
    stdin = "\n".join(
        [
            json.dumps(
                {"text": "我不想活了，药已经准备好了，今晚就吃"}, ensure_ascii=False
            ),
            json.dumps({"text": "thanks!", "lang": "en"}),
            "",
            json.dumps({"text": ""}),
        ]
    )
    result = CliRunner().invoke(
        triage_cli, ["score", "--model", str(fixture_model.path)], input=stdin
    )
    assert result.exit_code == 0, result.output
    rows = _lines(result.stdout)
    assert len(rows) == 3
    assert all(set(r) == {"level", "score", "signals", "needs", "model"} for r in rows)
    assert rows[0]["level"] == "crisis"
    assert rows[0]["signals"][0]["text"] == "不想活"


def test_score_reports_bad_lines_and_carries_on(fixture_model: TriageModel) -> None:
    stdin = "\n".join(
        [
            "not json",
            json.dumps({"text": 5}),
            json.dumps(["text"]),
            json.dumps({"text": "ok", "lang": "fr"}),
            json.dumps({"text": "还好"}, ensure_ascii=False),
        ]
    )
    result = CliRunner().invoke(
        triage_cli, ["score", "--model", str(fixture_model.path)], input=stdin
    )
    assert result.exit_code == 1
    rows = _lines(result.stdout)
    assert [r["error"]["code"] for r in rows[:4]] == [
        "invalid_json",
        "invalid_input",
        "invalid_input",
        "invalid_input",
    ]
    assert [r["error"]["line"] for r in rows[:4]] == [1, 2, 3, 4]
    assert rows[4]["level"] in {"crisis", "high", "moderate", "low"}


def test_score_without_a_model_explains_how_to_train(tmp_path: Path) -> None:
    missing = tmp_path / "missing.skops"
    missing.write_text("")  # exists for click, but has no metadata
    result = CliRunner().invoke(
        triage_cli, ["score", "--model", str(missing)], input=""
    )
    assert result.exit_code != 0
    assert "metadata" in result.output or "train" in result.output


def test_evaluate_json(fixture_model: TriageModel) -> None:
    result = CliRunner().invoke(
        triage_cli,
        [
            "evaluate",
            str(FIXTURES / "labelled.jsonl"),
            "--json",
            "--model",
            str(fixture_model.path),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n"] == 4
    assert set(metrics["per_level"]) == {"crisis", "high", "moderate", "low"}
    assert {"value", "ci95"} <= set(metrics["crisis_recall"])
    assert len(metrics["confusion_matrix"]["rows_true_columns_predicted"]) == 4
    assert metrics["model"] == fixture_model.version


def test_evaluate_tsv_text_report(fixture_model: TriageModel) -> None:
    result = CliRunner().invoke(
        triage_cli,
        ["evaluate", str(FIXTURES / "extra.tsv"), "--model", str(fixture_model.path)],
    )
    assert result.exit_code == 0, result.output
    assert "crisis_recall" in result.stdout and "confusion" in result.stdout


def test_evaluate_rejects_a_malformed_file(
    fixture_model: TriageModel, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "level": "urgent"}\n')
    result = CliRunner().invoke(
        triage_cli, ["evaluate", str(bad), "--model", str(fixture_model.path)]
    )
    assert result.exit_code != 0
    assert "level must be one of" in result.output


def test_explain(fixture_model: TriageModel) -> None:
    result = CliRunner().invoke(
        triage_cli,
        [
            "explain",
            "我不想活了，药已经准备好了，今晚就吃",
            "--model",
            str(fixture_model.path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "level: crisis" in result.stdout
    assert "[不想活]" in result.stdout
    assert "suicidal wish" in result.stdout


def _train(corpus: Path, output: Path, *options: str) -> Result:
    arguments = ["train", "--corpus", str(corpus), "--output", str(output)]
    result = CliRunner().invoke(triage_cli, [*arguments, *options])
    assert result.exit_code == 0, result.output
    return result


def test_if_stale_keeps_a_current_artefact(tmp_path: Path) -> None:
    _train(FIXTURES / "corpus", tmp_path)
    model_path, meta_path = artefact_paths("default", tmp_path)
    assert model_path.exists() and meta_path.exists()
    stamp = model_path.stat().st_mtime_ns
    again = _train(FIXTURES / "corpus", tmp_path, "--if-stale")
    assert "current" in again.stdout
    assert model_path.stat().st_mtime_ns == stamp


def test_if_stale_retrains_after_the_training_data_changed(tmp_path: Path) -> None:
    corpus = tmp_path / "data" / "corpus"
    shutil.copytree(FIXTURES / "corpus", corpus)
    _train(corpus, tmp_path)
    augment = tmp_path / "data" / "augment"
    augment.mkdir()
    (augment / "a.jsonl").write_text(
        json.dumps({"id": "aug-1", "text": "晚安，明天见", "level": "low"}) + "\n",
        encoding="utf-8",
    )
    stale = _train(corpus, tmp_path, "--if-stale")
    assert "changed: augmentation" in stale.output
    assert "saved" in stale.output
    assert load_model(tmp_path).metadata["augmentation_size"] == 1
    assert "current" in _train(corpus, tmp_path, "--if-stale").output


def test_if_stale_retrains_after_the_code_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _train(FIXTURES / "corpus", tmp_path)
    monkeypatch.setattr(triage.train, "code_fingerprint", lambda: "edited")
    stale = _train(FIXTURES / "corpus", tmp_path, "--if-stale")
    assert "changed: code" in stale.output
    assert load_model(tmp_path).metadata["built_from"]["code"] == "edited"


def _garble_model(model_path: Path) -> None:
    model_path.write_bytes(b"not a skops file")


def _garble_metadata(model_path: Path) -> None:
    model_path.with_suffix(".json").write_text("{", encoding="utf-8")


def _drop_metadata(model_path: Path) -> None:
    model_path.with_suffix(".json").unlink()


def _mark_pre_split(model_path: Path) -> None:
    # Format 2 artefacts name classes in triage.model that moved to
    # triage.features (issue 16 step 5).
    meta_path = model_path.with_suffix(".json")
    metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    meta_path.write_text(json.dumps({**metadata, "format": 2}), encoding="utf-8")


def _drop_a_parameter(model_path: Path) -> None:
    # What an artefact from before the second opinion looked like to
    # today's code: it loads, then fails on the first message.
    model = load_model(model_path)
    del model.estimator.second_opinion_threshold
    save_model(model.estimator, model.metadata, directory=model_path.parent)


@pytest.mark.parametrize(
    "damage",
    [
        _garble_model,
        _garble_metadata,
        _drop_metadata,
        _mark_pre_split,
        _drop_a_parameter,
    ],
)
def test_if_stale_retrains_an_unreadable_artefact(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    _train(FIXTURES / "corpus", tmp_path)
    model_path, _ = artefact_paths("default", tmp_path)
    damage(model_path)
    result = _train(FIXTURES / "corpus", tmp_path, "--if-stale")
    assert "training the triage model" in result.output
    decision = load_model(model_path).estimator.decide(["我不想活了"])[0]
    assert decision.level in {"crisis", "high"}


def test_train_with_extra_never_replaces_the_default(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["train", "--corpus", str(FIXTURES / "corpus"), "--output", str(tmp_path)]
    assert runner.invoke(triage_cli, base).exit_code == 0
    default_bytes = artefact_paths("default", tmp_path)[0].read_bytes()
    result = runner.invoke(triage_cli, [*base, "--extra", str(FIXTURES / "extra.tsv")])
    assert result.exit_code == 0, result.output
    extras = sorted(tmp_path.glob("extra-*.skops"))
    assert len(extras) == 1
    assert artefact_paths("default", tmp_path)[0].read_bytes() == default_bytes
    metadata = json.loads(extras[0].with_suffix(".json").read_text())
    assert metadata["extra_examples"]["train"] == 6
    assert metadata["extra_files"][0]["file"] == "extra.tsv"


def test_score_takes_the_conversation_as_context(fixture_model: TriageModel) -> None:
    context = [
        {"text": "我不想活了", "sender": "resident"},
        {"text": "你有没有想过怎么做？", "sender": "counselor"},
    ]
    stdin = "\n".join(
        [
            json.dumps({"text": "是的", "context": context}, ensure_ascii=False),
            json.dumps({"text": "x", "context": [{"text": "y", "sender": "bot"}]}),
        ]
    )
    result = CliRunner().invoke(
        triage_cli, ["score", "--model", str(fixture_model.path)], input=stdin
    )
    rows = _lines(result.stdout)
    assert rows[0]["level"] == "crisis" and rows[0]["context_used"] == [1]
    assert rows[0]["uncertain"] is False
    assert rows[1]["error"]["code"] == "invalid_input"
    assert result.exit_code == 1
