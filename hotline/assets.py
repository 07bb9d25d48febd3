"""Serves ``static/`` and an allow-list of npm-installed browser files, under
content-hashed URLs.

A page names every script and style with ``static_url(path)``, which adds
``?v=<hash of the file's bytes>``; such a URL is cached for a year, since
new bytes get a new URL. Modules import one another by plain paths
(``/static/shared/dom.js``), so each page carries an import map from those
paths to the hashed URLs: after a deploy a browser never runs old and new
modules together. Hashes are computed once per process (in debug mode again
whenever a file changes).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    request,
    send_from_directory,
    url_for,
)
from markupsafe import Markup
from werkzeug.security import safe_join

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
# Browser builds shipped by npm packages, by the name pages import them as.
VENDOR_FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
VENDOR_PREFIX = "vendor/"
_PRIVATE_PARTS = {"node_modules", "package.json", "package-lock.json"}
HASH_CHARS = 16
# A hashed URL never changes its bytes; anything else must be revalidated
# (the ETag makes that a 304), or a deploy would be invisible for a while.
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_EXTENSION = "hotline.assets"

bp = Blueprint("assets", __name__)


class AssetManifest:
    """The content hash of every file under a static root, by its path there
    (``console/console.js``, ``vendor/socket.io.esm.min.js``)."""

    def __init__(
        self, root: Path, vendor: dict[str, str], *, watch: bool = False
    ) -> None:
        self.root = root
        self.vendor = vendor
        # Debug mode: a file edited while the server runs gets a new hash.
        self.watch = watch
        self._hashes: dict[str, tuple[int, str]] = {}
        self.import_map_text: str | None = None

    def file(self, path: str) -> Path | None:
        """The file served for ``path``, or None if nothing public is there."""
        if path.startswith(VENDOR_PREFIX):
            relative = self.vendor.get(path.removeprefix(VENDOR_PREFIX))
            return self.root / "node_modules" / relative if relative else None
        joined = safe_join(str(self.root), path)
        if joined is None or _PRIVATE_PARTS.intersection(Path(path).parts):
            return None
        candidate = Path(joined)
        return candidate if candidate.is_file() else None

    def version(self, path: str) -> str:
        """The first characters of the SHA-256 of the file's bytes."""
        known = self._hashes.get(path)
        if known is not None and not self.watch:
            return known[1]
        file = self.file(path)
        if file is None:
            raise FileNotFoundError(f"no static file {path!r}")
        changed = file.stat().st_mtime_ns
        if known is None or known[0] != changed:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()[:HASH_CHARS]
            known = self._hashes[path] = (changed, digest)
        return known[1]

    def modules(self) -> list[str]:
        """Every script a page or module may load, ours and npm's."""
        ours = (
            str(path.relative_to(self.root))
            for path in self.root.rglob("*.js")
            if "node_modules" not in path.relative_to(self.root).parts
        )
        theirs = (VENDOR_PREFIX + name for name in self.vendor if name.endswith(".js"))
        return sorted([*ours, *theirs])


def manifest(app: Flask | None = None) -> AssetManifest:
    """This app's manifest, made on first use."""
    app = app or current_app
    found = app.extensions.get(_EXTENSION)
    if found is None:
        found = app.extensions[_EXTENSION] = AssetManifest(
            STATIC_ROOT, VENDOR_FILES, watch=app.debug
        )
    return found


def _plain_url(path: str) -> str:
    if path.startswith(VENDOR_PREFIX):
        return url_for("assets.vendor", name=path.removeprefix(VENDOR_PREFIX))
    return url_for("assets.static_file", filename=path)


@bp.app_template_global()
def static_url(path: str) -> str:
    """The content-hashed URL of a file under ``static/`` (or ``vendor/...``)."""
    return f"{_plain_url(path)}?v={manifest().version(path)}"


@bp.app_template_global()
def import_map() -> Markup:
    """The import map's JSON, safe to put inside a <script> element."""
    return Markup(_import_map_text())


def import_map_source() -> str:
    """The CSP source that lets exactly this import map run inline."""
    digest = hashlib.sha256(_import_map_text().encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _import_map_text() -> str:
    assets = manifest()
    if assets.import_map_text is not None and not assets.watch:
        return assets.import_map_text
    imports = {_plain_url(path): static_url(path) for path in assets.modules()}
    text = json.dumps({"imports": imports}, sort_keys=True, separators=(",", ":"))
    # Nothing in it may close the <script> element it sits in.
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    assets.import_map_text = text
    return text


def _send(directory: Path, path: str, version: str) -> Response:
    response = send_from_directory(directory, path)
    response.headers["Cache-Control"] = (
        IMMUTABLE if request.args.get("v") == version else REVALIDATE
    )
    return response


@bp.get("/static/vendor/<name>")
def vendor(name: str) -> Response:
    """A third-party browser file from ``static/node_modules``."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    version = manifest().version(VENDOR_PREFIX + name)
    return _send(STATIC_ROOT / "node_modules", relative, version)


@bp.get("/static/<path:filename>")
def static_file(filename: str) -> Response:
    """Our own JS and CSS (never node_modules or npm metadata)."""
    assets = manifest()
    if assets.file(filename) is None:
        abort(404)
    return _send(STATIC_ROOT, filename, assets.version(filename))
