"""Serves ``static/`` and an allow-list of npm-installed browser files."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"
# Browser builds shipped by npm packages, by the name pages import them as.
VENDOR_FILES = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
}
_PRIVATE_PARTS = {"node_modules", "package.json", "package-lock.json"}

bp = Blueprint("assets", __name__)


@bp.get("/static/vendor/<name>")
def vendor(name: str) -> Response:
    """A third-party browser file from ``static/node_modules``."""
    relative = VENDOR_FILES.get(name)
    if relative is None:
        abort(404)
    return send_from_directory(
        STATIC_ROOT / "node_modules", relative, max_age=_max_age()
    )


@bp.get("/static/<path:filename>")
def static_file(filename: str) -> Response:
    """Our own JS and CSS (never node_modules or npm metadata)."""
    if _PRIVATE_PARTS.intersection(Path(filename).parts):
        abort(404)
    return send_from_directory(STATIC_ROOT, filename, max_age=_max_age())


def _max_age() -> int:
    return 0 if current_app.debug or current_app.testing else 3600
