"""Locale choice: an explicit ?lang=, then the saved cookie, then the browser."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_babel import get_locale

LANG_COOKIE = "hotline_lang"


def select_locale() -> str:
    """The UI language for this request (Chinese unless asked otherwise)."""
    languages = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in languages:
            return candidate
    return request.accept_languages.best_match(
        languages, default=current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def init_app(app: Flask) -> None:
    """Expose the UI language to templates and remember an explicit choice."""

    @app.context_processor
    def inject_language() -> dict[str, str]:
        return {"ui_lang": str(get_locale())}

    @app.after_request
    def remember_language(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in app.config["LANGUAGES"]:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                httponly=True,
                secure=app.config["SESSION_COOKIE_SECURE"],
            )
        return response
