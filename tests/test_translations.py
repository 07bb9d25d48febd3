"""Every user-facing string is in the Chinese catalogue, translated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "hotline/translations/zh/LC_MESSAGES/messages.po"


def test_every_source_string_has_a_chinese_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(template),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    with template.open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    translated = {
        message.id
        for message in catalogue
        if message.id and message.string and "fuzzy" not in message.flags
    }
    assert wanted - translated == set()


def test_placeholders_survive_translation():
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if not message.id:
            continue
        for placeholder in (
            "{position}",
            "{minutes}",
            "{count}",
            "{id}",
            "{seconds}",
            "%(seconds)s",
        ):
            if placeholder in message.id:
                assert placeholder in message.string, message.id
