"""Every error has one code and one text, and says it the same way everywhere."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

from hotline.error_messages import CLIENT_MESSAGES, MESSAGES
from hotline.errors import (
    HotlineError,
    InvalidInput,
    NotFound,
    error_classes,
    for_http_status,
)
from hotline.extensions import socketio
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "hotline/translations/zh/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _msgid(key: str) -> str:
    return {**MESSAGES, **CLIENT_MESSAGES}[key]._args[0]


def test_every_error_class_has_its_own_code_and_a_status():
    codes = [cls.code for cls in error_classes()]
    assert len(codes) == len(set(codes)), sorted(codes)
    for cls in error_classes():
        assert 400 <= cls.status < 600, cls


def test_every_code_and_reason_has_text_and_nothing_else_does():
    codes = {cls.code for cls in error_classes()}
    assert codes <= MESSAGES.keys()
    for key in MESSAGES:
        assert key.partition(".")[0] in codes, key
    # Page scripts show a code's own text as it is: no details to fill in.
    for code in codes | CLIENT_MESSAGES.keys():
        assert not PLACEHOLDER.search(_msgid(code)), code


def test_every_error_text_is_translated_with_its_placeholders():
    with CATALOGUE.open("rb") as handle:
        translations = {
            message.id: message.string
            for message in read_po(handle)
            if message.id and "fuzzy" not in message.flags
        }
    for key in {**MESSAGES, **CLIENT_MESSAGES}:
        msgid = _msgid(key)
        assert translations.get(msgid), f"{key}: no Chinese for {msgid!r}"
        assert set(PLACEHOLDER.findall(translations[msgid])) == set(
            PLACEHOLDER.findall(msgid)
        ), key


def test_a_reason_names_a_text_and_details_fill_it_in(app):
    with app.test_request_context("/?lang=en"):
        error = InvalidInput("too_long", field="note", max_chars=300)
        assert error.to_dict() == {
            "error": {
                "code": "invalid_input",
                "message": "“note” is longer than 300 characters.",
                "details": {"field": "note", "max_chars": 300},
            }
        }
    with app.test_request_context("/?lang=zh"):
        assert error.message == "“note”超过了 300 个字符。"
        assert NotFound("resource").message == "这个资源已不存在。"


def test_a_reason_without_text_is_refused_where_it_is_raised():
    with pytest.raises(LookupError):
        NotFound("No such conversation.")
    with pytest.raises(LookupError):
        HotlineError("typo")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_refusal_reads_the_same_in_json_an_ack_a_page_and_the_scripts(
    app, make_user, lang
):
    make_user("ana")
    http = app.test_client()
    signed_in = http.post(
        f"/api/auth/login?lang={lang}", json={"username": "ana", "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    with app.test_request_context(f"/?lang={lang}"), force_locale(lang):
        expected = str(MESSAGES["forbidden"])

    # A counsellor asks for what only supervisors may see, four ways.
    refused = http.get("/api/audit")
    assert refused.status_code == 403
    assert refused.json["error"] == {"code": "forbidden", "message": expected}
    page = http.get("/supervisor/audit")
    assert page.status_code == 403
    assert f"<p>{expected}</p>" in page.get_data(as_text=True)
    console = socketio.test_client(app, namespace="/console", flask_test_client=http)
    ack = console.emit(
        "monitor", {"conversation_id": 1}, namespace="/console", callback=True
    )
    assert ack == {"ok": False, "error": {"code": "forbidden", "message": expected}}
    html = http.get("/console").get_data(as_text=True)
    strings = json.loads(
        re.search(
            r'<script type="application/json" id="strings">(.*?)</script>', html
        ).group(1)
    )
    assert strings["errors"]["forbidden"] == expected
    if lang == "zh":
        assert expected == "你的角色无权进行此操作。"


def test_the_protocol_lists_every_code():
    protocol = (ROOT / "docs/protocol.md").read_text(encoding="utf-8")
    for cls in error_classes():
        assert f"| `{cls.code}` | {cls.status} |" in protocol, cls.code


def test_every_reason_raised_in_the_code_has_text():
    """A reason with no text would fail only when that refusal happens."""
    classes = {cls.__name__: cls for cls in error_classes()}
    missing = []
    for path in [*ROOT.glob("hotline/**/*.py"), *ROOT.glob("counselors/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            reason = node.args[0]
            if (
                name in classes
                and isinstance(reason, ast.Constant)
                and isinstance(reason.value, str)
                and f"{classes[name].code}.{reason.value}" not in MESSAGES
            ):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert missing == []


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "chinese"),
    [
        ("get", "/api/nope", 404, "not_found", "这个页面不存在，或者已经移动。"),
        ("post", "/api/health", 405, "method_not_allowed", "这个请求没有完成。"),
    ],
)
def test_the_frameworks_own_errors_are_coded_and_translated(
    client, method, path, status, code, chinese
):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"].startswith(chinese)


def test_a_missing_page_says_so_in_the_pages_language(client):
    response = client.get("/nope?lang=en")
    assert response.status_code == 404
    assert "<p>This page does not exist, or it has moved.</p>" in response.get_data(
        as_text=True
    )


def test_an_http_status_without_a_class_keeps_its_status(app):
    with app.test_request_context("/?lang=en"):
        error = for_http_status(415)
        assert (error.code, error.status) == ("error", 415)
        assert error.message.startswith("The request could not be completed.")
