"""The supervisors' page for the shared library of quick replies (canned
responses): list, add, edit, retire and reactivate. Every change is audited
by ``hotline.services.canned``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from counselors.permissions import requires
from hotline.errors import InvalidInput
from hotline.extensions import db
from hotline.labels import canned_category_names, role_names
from hotline.services import canned

bp = Blueprint("canned_admin", __name__, template_folder="templates")

STATUS_FILTERS = ("active", "retired", "all")


class CannedForm(FlaskForm):
    category = SelectField(_l("Category"))
    lang = SelectField(_l("Language"))
    title = StringField(_l("Title"))
    body = TextAreaField(_l("Text"))


def _language_names() -> dict[str, str]:
    return {"zh": _("Chinese"), "en": _("English")}


def _form(**kwargs: Any) -> CannedForm:
    form = CannedForm(**kwargs)
    form.category.choices = list(canned_category_names().items())
    form.lang.choices = list(_language_names().items())
    return form


def _checked(form: CannedForm) -> canned.CannedInput | None:
    """The form's values as a checked response, or None with the problem flashed
    into ``form.errors`` of the field at fault."""
    try:
        return canned.check_input(
            form.category.data, form.lang.data, form.title.data, form.body.data
        )
    except InvalidInput as error:
        field = error.details.get("field", "body")
        getattr(form, field).errors = [_problem(field)]
        return None


def _problem(field: str) -> str:
    return {
        "category": _("Choose a category."),
        "lang": _("Choose a language."),
        "title": _(
            "Write a title of up to %(limit)s characters.",
            limit=canned.MAX_TITLE_CHARS,
        ),
        "body": _(
            "Write the text, up to %(limit)s characters.",
            limit=canned.MAX_BODY_CHARS,
        ),
    }[field]


@bp.route("/supervisor/canned", methods=["GET", "POST"])
@login_required
@requires("canned_library")
def index() -> Any:
    """The shared library with filters, and a form to add a response."""
    form = _form()
    if form.validate_on_submit():
        data = _checked(form)
        if data is not None:
            with db.transaction() as session:
                canned.create_shared(session, int(current_user.id), data)
            flash(_("Quick reply added."), "info")
            return redirect(url_for("canned_admin.index", lang=data.lang))
    status = request.args.get("status", "active")
    if status not in STATUS_FILTERS:
        status = "active"
    lang = request.args.get("lang") or None
    if lang not in canned.LANGUAGES:
        lang = None
    with db.read() as session:
        responses = canned.list_shared(
            session,
            active={"active": True, "retired": False}.get(status),
            lang=lang,
        )
    return render_template(
        "supervisor/canned.html",
        user=current_user,
        role_names=role_names(),
        form=form,
        responses=responses,
        filters={"status": status, "lang": lang},
        category_names=canned_category_names(),
        language_names=_language_names(),
        editing=None,
    )


@bp.route("/supervisor/canned/<int:response_id>/edit", methods=["GET", "POST"])
@login_required
@requires("canned_library")
def edit(response_id: int) -> Any:
    """Change a shared response."""
    with db.read() as session:
        response = canned.get_shared(session, response_id)
    # Shown on GET; a submitted form's values take precedence.
    form = _form(
        data={
            "category": response.category,
            "lang": response.lang,
            "title": response.title,
            "body": response.body,
        }
    )
    if form.validate_on_submit():
        data = _checked(form)
        if data is not None:
            with db.transaction() as session:
                canned.update_shared(session, int(current_user.id), response_id, data)
            flash(_("Quick reply saved."), "info")
            return redirect(url_for("canned_admin.index", lang=data.lang))
    return render_template(
        "supervisor/canned.html",
        user=current_user,
        role_names=role_names(),
        form=form,
        responses=[],
        filters={"status": "active", "lang": None},
        category_names=canned_category_names(),
        language_names=_language_names(),
        editing=response,
    )


@bp.post("/supervisor/canned/<int:response_id>/active")
@login_required
@requires("canned_library")
def set_active(response_id: int) -> Any:
    """Retire a shared response, or bring a retired one back."""
    active = request.form.get("active") == "1"
    with db.transaction() as session:
        canned.set_shared_active(session, int(current_user.id), response_id, active)
    flash(
        _("Quick reply reactivated.") if active else _("Quick reply retired."), "info"
    )
    return redirect(url_for("canned_admin.index", status="all"))
