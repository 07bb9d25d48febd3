"""The community resource directory pages (admins and supervisors)."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import validate_csrf
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from counselors.permissions import requires
from hotline.errors import CsrfFailed, InvalidResource
from hotline.extensions import csrf, db
from hotline.labels import resource_category_names, role_names
from hotline.models import ResourceCategory
from hotline.services import resources
from hotline.services.resources import Problem

bp = Blueprint("directory", __name__, template_folder="templates")
# Room for the multipart envelope around an imported file.
IMPORT_ENVELOPE_BYTES = 64 * 1024

LANGUAGE_CHOICES = [SelectChoice("zh", "中文"), SelectChoice("en", "English")]
STATUS_FILTERS = ("active", "retired", "all")


class ResourceForm(FlaskForm):
    name = StringField(_l("Name"))
    category = SelectField(_l("Category"))
    area = StringField(_l("Area (empty for citywide)"))
    contact = StringField(_l("Contact (phone number or how to reach them)"))
    opening_hours = StringField(_l("Opening hours"))
    languages = SelectMultipleField(
        _l("Languages"),
        choices=LANGUAGE_CHOICES,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    notes = TextAreaField(_l("Notes"))
    active = BooleanField(_l("Active (suggested and sendable)"), default=True)

    def fields_as_text(self) -> dict[str, str]:
        """The form's values as the text fields ``resources.parse_fields`` checks."""
        return {
            "name": self.name.data or "",
            "category": self.category.data or "",
            "area": self.area.data or "",
            "contact": self.contact.data or "",
            "opening_hours": self.opening_hours.data or "",
            "languages": ";".join(self.languages.data or []),
            "notes": self.notes.data or "",
            "active": "yes" if self.active.data else "no",
        }


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired()])


def _resource_form(**kwargs: Any) -> ResourceForm:
    form = ResourceForm(**kwargs)
    names = resource_category_names()
    form.category.choices = [
        SelectChoice(c.value, names[c.value]) for c in ResourceCategory
    ]
    return form


@bp.get("/admin/resources")
@login_required
@requires("directory")
def index() -> str:
    """The directory with filters, CSV import and export."""
    return _render_index(ImportForm(), problems=[])


def _render_index(import_form: ImportForm, problems: list[str]) -> str:
    status = request.args.get("status", "active")
    if status not in STATUS_FILTERS:
        status = "active"
    category = request.args.get("category") or None
    if category not in {c.value for c in ResourceCategory}:
        category = None
    area = request.args.get("area", "").strip()
    text = request.args.get("q", "").strip()[:100]
    with db.read() as session:
        found = resources.list_resources(
            session,
            category=category,
            area=area or None,
            active={"active": True, "retired": False}.get(status),
            text=text or None,
        )
        areas = resources.areas(session)
    return render_template(
        "admin/resources.html",
        user=current_user,
        role_names=role_names(),
        resources=found,
        areas=areas,
        filters={"status": status, "category": category, "area": area, "q": text},
        category_names=resource_category_names(),
        import_form=import_form,
        problems=problems,
    )


@bp.route("/admin/resources/new", methods=["GET", "POST"])
@login_required
@requires("directory")
def new() -> Any:
    """Add a resource."""
    form = _resource_form()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            data = resources.parse_fields(form.fields_as_text())
        except InvalidResource as error:
            problems = [problem_text(p) for p in error.problems]
        else:
            with db.transaction() as session:
                resources.create(session, data)
            flash(_("Resource added."), "info")
            return redirect(url_for("directory.index"))
    return _render_form(form, problems, resource=None)


@bp.route("/admin/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@login_required
@requires("directory")
def edit(resource_id: int) -> Any:
    """Change a resource's details."""
    with db.read() as session:
        resource = resources.get(session, resource_id)
    # Shown on GET; a submitted form's values take precedence.
    form = _resource_form(
        data={
            "name": resource.name,
            "category": resource.category,
            "area": resource.area,
            "contact": resource.contact,
            "opening_hours": resource.opening_hours,
            "languages": resource.languages,
            "notes": resource.notes,
            "active": resource.active,
        }
    )
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            data = resources.parse_fields(form.fields_as_text())
        except InvalidResource as error:
            problems = [problem_text(p) for p in error.problems]
        else:
            with db.transaction() as session:
                resources.update(session, resource_id, data)
            flash(_("Resource saved."), "info")
            return redirect(url_for("directory.index"))
    return _render_form(form, problems, resource=resource)


def _render_form(
    form: ResourceForm, problems: list[str], resource: resources.ResourceView | None
) -> str:
    problems += [
        f"{field.label.text}: {error}"
        for field in form
        for error in field.errors
        if field.name != "csrf_token"
    ]
    with db.read() as session:
        areas = resources.areas(session)
    return render_template(
        "admin/resource_form.html",
        user=current_user,
        role_names=role_names(),
        form=form,
        problems=problems,
        resource=resource,
        areas=areas,
    )


@bp.post("/admin/resources/<int:resource_id>/active")
@login_required
@requires("directory")
def set_active(resource_id: int) -> Any:
    """Retire a resource, or bring a retired one back."""
    active = request.form.get("active") == "1"
    with db.transaction() as session:
        resources.set_active(session, resource_id, active)
    flash(_("Resource reactivated.") if active else _("Resource retired."), "info")
    return redirect(url_for("directory.index", status="all"))


@bp.post("/admin/resources/import")
@csrf.exempt  # checked below, once the larger body limit is in force
@login_required
@requires("directory")
def import_csv() -> Any:
    """Add or update resources from a CSV file: every row, or none.

    The one request allowed above the app's 64 KB body limit: a file up to
    ``MAX_IMPORT_BYTES`` (2 MB) and its multipart envelope.
    """
    request.max_content_length = resources.MAX_IMPORT_BYTES + IMPORT_ENVELOPE_BYTES
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CsrfFailed() from error
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_index(form, problems=[_("Choose a CSV file to import.")])
    data = form.file.data.read(resources.MAX_IMPORT_BYTES + 1)
    try:
        with db.transaction() as session:
            report = resources.import_csv(session, data)
    except InvalidResource as error:
        problems = [problem_text(p, in_csv=True) for p in error.problems]
        return _render_index(form, problems=problems), 400
    flash(
        _(
            "Imported: %(added)s added, %(updated)s updated.",
            added=report.added,
            updated=report.updated,
        ),
        "info",
    )
    if report.formulas:
        flash(
            _(
                "Some cells start like a spreadsheet formula (%(cells)s). They "
                "were stored as plain text; check that they are what you meant.",
                cells=", ".join(report.formulas[:10]),
            ),
            "error",
        )
    return redirect(url_for("directory.index"))


@bp.get("/admin/resources/export.csv")
@login_required
@requires("directory")
def export_csv() -> Response:
    """The whole directory as CSV, with a BOM so spreadsheets read it as UTF-8."""
    with db.read() as session:
        exported = resources.export_csv(session)
    return Response(
        "\ufeff" + exported,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=resources.csv"},
    )


def problem_text(problem: Problem, *, in_csv: bool = False) -> str:
    """A resource problem in the page's language; CSV problems name the
    column as it is spelt in the file, and start with the line number."""
    field = problem.field if in_csv else _field_label(problem.field)
    if problem.code == "required":
        text = _("%(field)s is required.", field=field)
    elif problem.code == "too_long":
        text = _(
            "%(field)s is longer than %(limit)s characters.",
            field=field,
            limit=problem.limit,
        )
    elif problem.code == "not_a_choice":
        text = _(
            "%(field)s '%(value)s' is not one of %(choices)s.",
            field=field,
            value=problem.value,
            choices=", ".join(problem.choices),
        )
    elif problem.code == "unknown_column":
        text = _(
            "unknown column '%(value)s' (the columns are %(columns)s).",
            value=problem.value,
            columns=", ".join(resources.COLUMNS),
        )
    elif problem.code == "missing_column":
        text = _("the column '%(field)s' is missing.", field=problem.field)
    elif problem.code == "duplicate":
        text = _(
            "'%(value)s' with this area is already on line %(first)s.",
            value=problem.value,
            first=problem.first_line,
        )
    elif problem.code == "not_text":
        text = _("the file is not text in UTF-8 or GB18030; save it as CSV UTF-8.")
    elif problem.code == "empty_file":
        text = _("the file is empty: the first line must name the columns.")
    else:
        text = _("the file is too large.")
    if problem.line is None:
        return text
    return _("Line %(line)s: %(problem)s", line=problem.line, problem=text)


def _field_label(field: str) -> str:
    return {
        "name": _("Name"),
        "category": _("Category"),
        "area": _("Area"),
        "contact": _("Contact"),
        "opening_hours": _("Opening hours"),
        "languages": _("Languages"),
        "notes": _("Notes"),
        "active": _("In use"),
    }.get(field, field)
