"""Static files under content-hashed URLs: a deploy never leaves a browser
running old and new scripts together, and unchanged files stay cached."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from hotline.assets import (
    IMMUTABLE,
    REVALIDATE,
    STATIC_ROOT,
    AssetManifest,
    manifest,
)
from hotline.models import Role
from tests.conftest import PASSWORD

# A static import, a re-export or a dynamic import of a module by its path.
IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']""")


class PageAssets(HTMLParser):
    """The URLs a page loads, and its import map."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.import_maps: list[str] = []
        self._in_import_map = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("type") == "importmap":
            self._in_import_map = True
            self.import_maps.append("")
        elif tag == "script" and found.get("src"):
            self.urls.append(found["src"] or "")
        elif tag == "link" and found.get("href"):
            self.urls.append(found["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_import_map = False

    def handle_data(self, data: str) -> None:
        if self._in_import_map:
            self.import_maps[-1] += data


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_version_follows_the_files_bytes(tmp_path: Path) -> None:
    _write(tmp_path / "console" / "console.js", "export const a = 1;\n")
    before = AssetManifest(tmp_path, {}).version("console/console.js")
    assert before == AssetManifest(tmp_path, {}).version("console/console.js")

    _write(tmp_path / "console" / "console.js", "export const a = 2;\n")
    after = AssetManifest(tmp_path, {}).version("console/console.js")
    assert after != before
    expected = hashlib.sha256(b"export const a = 2;\n").hexdigest()
    assert expected.startswith(after)


def test_a_running_process_keeps_its_hashes_unless_watching(tmp_path: Path) -> None:
    file = tmp_path / "shared" / "dom.js"
    _write(file, "one")
    kept, watching = (
        AssetManifest(tmp_path, {}),
        AssetManifest(tmp_path, {}, watch=True),
    )
    first = kept.version("shared/dom.js"), watching.version("shared/dom.js")
    _write(file, "two, longer")
    assert kept.version("shared/dom.js") == first[0]
    assert watching.version("shared/dom.js") != first[1]


@pytest.mark.parametrize(
    "path",
    ["node_modules/x/y.js", "package.json", "../pyproject.toml", "/etc/passwd", "x.js"],
)
def test_private_or_missing_files_have_no_version(path: str) -> None:
    assets = AssetManifest(STATIC_ROOT, {})
    assert assets.file(path) is None
    with pytest.raises(FileNotFoundError):
        assets.version(path)


@pytest.mark.parametrize(
    "path", ["console/console.js", "shared/base.css", "vendor/socket.io.esm.min.js"]
)
def test_hashed_urls_are_cached_for_a_year_others_revalidated(
    app: Flask, client: FlaskClient, path: str
) -> None:
    with app.test_request_context():
        version = manifest(app).version(path)
    plain = f"/static/{path}"
    for url, cache_control in (
        (f"{plain}?v={version}", IMMUTABLE),
        (plain, REVALIDATE),
        # A page from before a deploy asks for the old version: it gets the
        # new bytes, but no cache may keep them under the old name.
        (f"{plain}?v=0123456789abcdef", REVALIDATE),
    ):
        response = client.get(url)
        response.close()
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == cache_control, url
        assert "no-store" not in response.headers["Cache-Control"]


def _staff_pages(app: Flask) -> list[str]:
    """Every HTML page that takes no argument, from the URL map itself."""
    pages = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if (
            "GET" in (rule.methods or ())
            and not rule.arguments
            and not path.startswith(("/api", "/static", "/metrics", "/forget"))
            and not path.endswith(".csv")
        ):
            pages.append(path)
    return sorted(pages)


def _crawl(app: Flask, make_user, role: Role) -> list[tuple[str, PageAssets, str]]:
    make_user(f"crawler-{role}", role)
    client = app.test_client()
    signed_in = client.post(
        "/api/auth/login",
        json={"username": f"crawler-{role}", "password": PASSWORD},
    )
    assert signed_in.status_code == 200
    pages = []
    for path in [*_staff_pages(app), "/no-such-page"]:
        response = client.get(path)
        if response.mimetype != "text/html" or response.status_code in (301, 302):
            continue
        parsed = PageAssets()
        parsed.feed(response.get_data(as_text=True))
        pages.append((path, parsed, response.headers["Content-Security-Policy"]))
    return pages


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN, Role.COUNSELOR])
def test_every_page_loads_only_hashed_urls_and_maps_every_import(
    app: Flask, make_user, role: Role
) -> None:
    pages = _crawl(app, make_user, role)
    with app.test_request_context():
        assets = manifest(app)
        modules = assets.modules()
        versions = {f"/static/{path}": assets.version(path) for path in modules}
    # Every path a module imports by, whoever wrote it.
    imported = {
        specifier
        for path in modules
        if not path.startswith("vendor/")
        for specifier in IMPORT.findall((STATIC_ROOT / path).read_text())
    }
    assert imported, "the import pattern no longer finds the scripts' imports"
    assert len(pages) >= 3
    for path, page, policy in pages:
        assert page.urls, path
        for url in page.urls:
            parts = urlsplit(url)
            assert parts.path.startswith("/static/"), (path, url)
            with app.test_request_context():
                relative = parts.path.removeprefix("/static/")
                assert parse_qs(parts.query).get("v") == [
                    manifest(app).version(relative)
                ], (path, url)
        (text,) = page.import_maps
        imports = json.loads(text)["imports"]
        assert set(imports) >= imported, path
        for specifier, url in imports.items():
            assert url == f"{specifier}?v={versions[specifier]}"
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"script-src 'self' 'sha256-{digest}'" in policy, path


def test_the_resident_page_loads_only_hashed_urls(client: FlaskClient) -> None:
    page = PageAssets()
    page.feed(client.get("/").get_data(as_text=True))
    scripts = [url for url in page.urls if ".js" in url]
    assert len(scripts) >= 3
    assert all(re.search(r"\?v=[0-9a-f]{16}$", url) for url in page.urls)
    assert len(page.import_maps) == 1
