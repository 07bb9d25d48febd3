"""HTTP plumbing: JSON bodies, error responses and security headers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hotline import assets
from hotline.errors import (
    CsrfFailed,
    HotlineError,
    InternalError,
    InvalidInput,
    for_http_status,
)

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def content_security_policy() -> str:
    """The policy; the one inline script it lets run is the page's import map,
    named by its hash (hotline/assets.py)."""
    return CONTENT_SECURITY_POLICY.replace(
        "script-src 'self'", f"script-src 'self' {assets.import_map_source()}", 1
    )


def json_body() -> Any:
    """The request's JSON body, or InvalidInput with a clear reason."""
    if not request.is_json:
        raise InvalidInput("json_content_type")
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        # The json module gives up on deep nesting with RecursionError, which
        # ``silent`` does not cover; no real body nests that deep.
        raise InvalidInput("json_too_deep") from None
    if body is None:
        raise InvalidInput("json_invalid")
    return body


def bearer_token() -> str | None:
    """The resident's token from ``Authorization: Bearer <token>``."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


def _error_response(error: HotlineError) -> Any:
    if _wants_json():
        return jsonify(error.to_dict()), error.status
    return render_template("error.html", error=error), error.status


def init_app(app: Flask) -> None:
    """Register the one error handler and the security headers."""

    @app.errorhandler(HotlineError)
    def handle_hotline_error(error: HotlineError) -> Any:
        return _error_response(error)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError) -> Any:
        return _error_response(CsrfFailed())

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> Any:
        return _error_response(for_http_status(error.code or 500))

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> Any:
        logger.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(InternalError())

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy()
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=()"
        )
        if not request.path.startswith("/static/"):
            # Transcripts and staff pages must not linger in shared caches.
            response.headers["Cache-Control"] = "no-store"
        return response
