"""Hotline: a psychological-support hotline and crisis triage service."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from hotline.config import load_config

logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config from the environment, overridden by ``test_config``."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    instance_path = Path(app.instance_path)
    app.config.from_mapping(load_config(instance_path))
    if test_config is not None:
        app.config.update(test_config)

    _init_extensions(app)
    _register_blueprints(app)
    return app


def _init_extensions(app: Flask) -> None:
    from hotline import http, i18n, throttle
    from hotline.extensions import babel, csrf, db, limiter, login_manager, socketio
    from hotline.sockets import same_origin

    db.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    throttle.init_app(app)
    http.init_app(app)
    i18n.init_app(app)
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        message_queue=app.config["MESSAGE_QUEUE"],
        # Same-origin only: a foreign page must not open a staff socket with
        # the counsellor's cookie.
        cors_allowed_origins=app.config.get("SOCKETIO_ALLOWED_ORIGINS") or same_origin,
        max_http_buffer_size=64 * 1024,
        ping_interval=app.config["SOCKETIO_PING_INTERVAL"],
        ping_timeout=app.config["SOCKETIO_PING_TIMEOUT"],
        channel=app.config["MESSAGE_QUEUE_CHANNEL"],
    )
    _register_socket_handlers()
    _bound_websocket_stalls(app)
    _trust_proxy(app)


def _bound_websocket_stalls(app: Flask) -> None:
    # A WebSocket that blocks its socket for a whole heartbeat is closed
    # (hotline/socket_timeouts.py says why python-engineio does not).
    from hotline.socket_timeouts import WebSocketTimeout

    app.wsgi_app = WebSocketTimeout(  # type: ignore[method-assign]
        app.wsgi_app,
        app.config["SOCKETIO_PING_INTERVAL"] + app.config["SOCKETIO_PING_TIMEOUT"],
    )


def _trust_proxy(app: Flask) -> None:
    # Behind nginx the client's address and scheme arrive in X-Forwarded-For
    # and X-Forwarded-Proto: rate limits need the address, secure cookies and
    # the same-origin check the scheme. Trust exactly PROXY_HOPS proxies,
    # never headers a client could forge. Wraps Socket.IO's middleware too.
    hops = app.config["PROXY_HOPS"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops
        )


def _register_socket_handlers() -> None:
    from counselors.console.namespace import ConsoleNamespace
    from hotline.dispatcher import dispatch
    from hotline.extensions import db, socketio
    from hotline.realtime import CHAT_NAMESPACE, CONSOLE_NAMESPACE
    from hotline.resident.chat_namespace import ChatNamespace
    from hotline.sockets import handle_socket_error

    socketio.on_namespace(ChatNamespace(CHAT_NAMESPACE))
    socketio.on_namespace(ConsoleNamespace(CONSOLE_NAMESPACE))
    socketio.on_error_default(handle_socket_error)
    db.dispatcher = dispatch


def _register_blueprints(app: Flask) -> None:
    from counselors import auth
    from counselors.admin import accounts, resources
    from counselors.console import views as console_views
    from counselors.supervisor import canned, referrals, reports, safety
    from counselors.supervisor import views as supervisor_views
    from hotline import assets, metrics
    from hotline.resident import api, callbacks_api
    from hotline.resident import views as resident_views

    for blueprint in (
        assets.bp,
        resident_views.bp,
        api.bp,
        callbacks_api.bp,
        auth.bp,
        console_views.bp,
        supervisor_views.bp,
        accounts.bp,
        resources.bp,
        reports.bp,
        referrals.bp,
        safety.bp,
        canned.bp,
        metrics.bp,
    ):
        app.register_blueprint(blueprint)
