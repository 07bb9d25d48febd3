"""Extensions, created unbound and bound to the app in ``create_app``."""

from __future__ import annotations

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from hotline.database import Database
from hotline.phones import PhoneVault

db = Database()
socketio = SocketIO()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def phone_vault() -> PhoneVault:
    """The app's phone-number vault (built once from ``PHONE_KEYS``)."""
    vault = current_app.extensions.get("hotline.phone_vault")
    if vault is None:
        vault = PhoneVault(current_app.config["PHONE_KEYS"])
        current_app.extensions["hotline.phone_vault"] = vault
    return vault
