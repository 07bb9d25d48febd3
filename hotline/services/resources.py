"""The community resource directory (the five-society linkage).

Resources are added, edited and retired (``active=False``), never deleted:
referrals keep pointing at them. The directory is small (hundreds of rows),
so suggestions are ranked in Python after one filtered query.

CSV import is all-or-nothing: every row is checked first, each problem is
reported with its line number, and nothing is stored unless every row is
good. A row whose name and area match an existing resource updates it, so an
exported file can be edited and imported again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hotline.errors import InvalidResource, NotFound
from hotline.models import (
    Conversation,
    Resource,
    ResourceCategory,
    RiskLevel,
    utcnow,
)

COLUMNS = (
    "name",
    "category",
    "area",
    "contact",
    "opening_hours",
    "languages",
    "notes",
    "active",
)
REQUIRED = ("name", "category", "contact")
LIMITS = {
    "name": 200,
    "area": 100,
    "contact": 200,
    "opening_hours": 200,
    "notes": 2000,
}
LANGUAGES = ("zh", "en")
_TRUE = {"", "1", "yes", "y", "true", "是", "active"}
_FALSE = {"0", "no", "n", "false", "否", "retired", "inactive"}
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_SUGGESTIONS = 20
MAX_SEARCH_RESULTS = 50

# Which kinds of help answer which triage needs tags (DESIGN §3).
NEED_CATEGORIES: dict[str, tuple[ResourceCategory, ...]] = {
    "supplies": (ResourceCategory.FOOD, ResourceCategory.DONATIONS),
    "medicine": (ResourceCategory.MEDICINE,),
    "medical": (ResourceCategory.MEDICAL,),
    "care": (ResourceCategory.ELDERLY_DISABILITY, ResourceCategory.CHILD),
}
URGENT_LEVELS = (RiskLevel.HIGH, RiskLevel.CRISIS)


@dataclass(frozen=True)
class ResourceInput:
    """A checked resource, ready to store."""

    name: str
    category: ResourceCategory
    contact: str
    area: str = ""
    opening_hours: str = ""
    languages: tuple[str, ...] = ()
    notes: str = ""
    active: bool = True


@dataclass(frozen=True)
class ResourceView:
    resource_id: int
    name: str
    category: str
    area: str
    contact: str
    opening_hours: str
    languages: list[str]
    notes: str
    active: bool
    created_at: datetime
    updated_at: datetime

    def to_payload(self) -> dict[str, Any]:
        return {
            "resource_id": self.resource_id,
            "name": self.name,
            "category": self.category,
            "area": self.area,
            "contact": self.contact,
            "opening_hours": self.opening_hours,
            "languages": self.languages,
            "notes": self.notes,
            "active": self.active,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a resource row; ``line`` is set for CSV rows.

    ``code`` is one of ``required``, ``too_long``, ``not_a_choice``,
    ``unknown_column``, ``missing_column``, ``duplicate``, ``not_text``,
    ``empty_file``, ``too_big``; pages translate it, ``str()`` is English.
    """

    code: str
    field: str = ""
    value: str = ""
    line: int | None = None
    limit: int | None = None
    choices: tuple[str, ...] = ()
    # For ``duplicate``: the line where the same resource first appears.
    first_line: int | None = None

    def __str__(self) -> str:
        messages = {
            "required": f"{self.field} is required",
            "too_long": f"{self.field} is longer than {self.limit} characters",
            "not_a_choice": (
                f"{self.field} '{self.value}' is not one of {', '.join(self.choices)}"
            ),
            "unknown_column": f"unknown column '{self.value}'",
            "missing_column": f"the column '{self.field}' is missing",
            "duplicate": (
                f"'{self.value}' appears twice with the same area (first on line "
                f"{self.first_line})"
            ),
            "not_text": "the file is not UTF-8 or GB18030 text",
            "empty_file": "the file has no header row",
            "too_big": f"the file is larger than {self.limit} bytes",
        }
        text = messages[self.code]
        return f"line {self.line}: {text}" if self.line is not None else text


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    # Cells that a spreadsheet would run as a formula ("line 3: notes"):
    # stored as text, and the importer is warned.
    formulas: tuple[str, ...] = ()


def parse_fields(
    fields: Mapping[str, str | None], line: int | None = None
) -> ResourceInput:
    """Check one resource given as text fields (a form or a CSV row)."""
    values = {name: _clean(fields.get(name)) for name in COLUMNS}
    problems = _problems(values, line)
    if problems:
        raise InvalidResource(problems)
    return ResourceInput(
        name=values["name"],
        category=ResourceCategory(values["category"]),
        contact=values["contact"],
        area=values["area"],
        opening_hours=values["opening_hours"],
        languages=tuple(dict.fromkeys(_split_languages(values["languages"]))),
        notes=values["notes"],
        active=values["active"].casefold() not in _FALSE,
    )


def _clean(value: str | None) -> str:
    if value is None:
        return ""
    # Control characters break terminals and CSV tools later; keep newlines
    # and tabs in notes.
    return "".join(
        ch for ch in value if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 0x7F)
    ).strip()


def _split_languages(value: str) -> list[str]:
    return [
        part.strip().casefold()
        for part in value.replace(",", ";").replace("，", ";").split(";")
        if part.strip()
    ]


def _problems(values: dict[str, str], line: int | None) -> list[Problem]:
    problems = [
        Problem("required", field=name, line=line)
        for name in REQUIRED
        if not values[name]
    ]
    problems += [
        Problem("too_long", field=name, line=line, limit=limit)
        for name, limit in LIMITS.items()
        if len(values[name]) > limit
    ]
    categories = tuple(category.value for category in ResourceCategory)
    if values["category"] and values["category"] not in categories:
        problems.append(
            Problem(
                "not_a_choice",
                field="category",
                value=values["category"],
                line=line,
                choices=categories,
            )
        )
    for language in _split_languages(values["languages"]):
        if language not in LANGUAGES:
            problems.append(
                Problem(
                    "not_a_choice",
                    field="languages",
                    value=language,
                    line=line,
                    choices=LANGUAGES,
                )
            )
    active = values["active"].casefold()
    if active not in _TRUE and active not in _FALSE:
        problems.append(
            Problem(
                "not_a_choice",
                field="active",
                value=values["active"],
                line=line,
                choices=("yes", "no"),
            )
        )
    return problems


# --- create, update, retire, list ----------------------------------------


def create(session: Session, data: ResourceInput) -> int:
    """Add a resource to the directory; returns its id."""
    now = utcnow()
    resource = Resource(created_at=now, updated_at=now)
    _apply(resource, data, now)
    session.add(resource)
    session.flush()
    return resource.id


def update(session: Session, resource_id: int, data: ResourceInput) -> None:
    """Replace a resource's details."""
    resource = _resource(session, resource_id)
    _apply(resource, data, utcnow())


def set_active(session: Session, resource_id: int, active: bool) -> None:
    """Retire a resource (no longer suggested or sendable) or bring it back."""
    resource = _resource(session, resource_id)
    if resource.active != active:
        resource.active = active
        resource.updated_at = utcnow()


def retire(session: Session, resource_id: int) -> None:
    """Take a resource out of use; it is kept for the referrals that name it."""
    set_active(session, resource_id, False)


def get(session: Session, resource_id: int) -> ResourceView:
    """One resource, active or retired."""
    return _view(_resource(session, resource_id))


def list_resources(
    session: Session,
    *,
    category: ResourceCategory | str | None = None,
    area: str | None = None,
    active: bool | None = None,
    text: str | None = None,
) -> list[ResourceView]:
    """The directory, filtered; active first, then by category and name.

    ``area`` matches exactly (ignoring case); ``text`` searches name, area,
    contact and notes.
    """
    query = select(Resource)
    if category:
        query = query.where(Resource.category == ResourceCategory(category))
    if area is not None:
        query = query.where(func.lower(Resource.area) == area.strip().lower())
    if active is not None:
        query = query.where(Resource.active.is_(active))
    if text and text.strip():
        query = query.where(_matches(text.strip()))
    query = query.order_by(
        Resource.active.desc(), Resource.category, Resource.name, Resource.id
    )
    return [_view(resource) for resource in session.scalars(query)]


def areas(session: Session) -> list[str]:
    """The areas active resources serve, for pick lists (citywide left out)."""
    rows = session.scalars(
        select(Resource.area)
        .where(Resource.active.is_(True), Resource.area != "")
        .distinct()
        .order_by(Resource.area)
    ).all()
    return list(rows)


def _matches(text: str) -> Any:
    lowered = text.lower()
    return or_(
        *(
            func.lower(column).contains(lowered, autoescape=True)
            for column in (
                Resource.name,
                Resource.area,
                Resource.contact,
                Resource.notes,
            )
        )
    )


def _resource(session: Session, resource_id: int) -> Resource:
    resource = session.get(Resource, resource_id)
    if resource is None:
        raise NotFound("resource")
    return resource


def _apply(resource: Resource, data: ResourceInput, now: datetime) -> None:
    resource.name = data.name
    resource.category = data.category
    resource.area = data.area
    resource.contact = data.contact
    resource.opening_hours = data.opening_hours
    resource.languages = list(data.languages)
    resource.notes = data.notes
    resource.active = data.active
    resource.updated_at = now


def _view(resource: Resource) -> ResourceView:
    return ResourceView(
        resource_id=resource.id,
        name=resource.name,
        category=str(resource.category),
        area=resource.area,
        contact=resource.contact,
        opening_hours=resource.opening_hours,
        languages=list(resource.languages),
        notes=resource.notes,
        active=resource.active,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
    )


# --- suggestions ---------------------------------------------------------


def categories_for(needs: Iterable[str], risk_level: RiskLevel | str) -> list[str]:
    """The categories that answer a conversation's needs, most pressing first.

    Psychiatric care leads when the conversation's risk is high or crisis.
    """
    categories: list[ResourceCategory] = []
    if RiskLevel(risk_level) in URGENT_LEVELS:
        categories.append(ResourceCategory.PSYCHIATRIC)
    for need in needs:
        categories.extend(NEED_CATEGORIES.get(need, ()))
    return [category.value for category in dict.fromkeys(categories)]


def suggest(session: Session, conversation_id: int) -> list[ResourceView]:
    """Active resources for a conversation's needs, best first.

    Same area first, then citywide (other areas are left out when the area
    is known, and come last when it is not); within that, resources that
    serve the conversation's language first, then by category (in the order
    of ``categories_for``) and name.
    """
    conversation = _conversation(session, conversation_id)
    categories = categories_for(conversation.needs, conversation.risk_level)
    if not categories:
        return []
    candidates = session.scalars(
        select(Resource).where(
            Resource.active.is_(True),
            Resource.category.in_([ResourceCategory(c) for c in categories]),
        )
    ).all()
    ranked = _ranked(
        candidates,
        area=conversation.area,
        lang=conversation.lang,
        categories=categories,
        other_areas=not _norm(conversation.area),
    )
    return [_view(resource) for resource in ranked[:MAX_SUGGESTIONS]]


def search(session: Session, conversation_id: int, text: str) -> list[ResourceView]:
    """Active resources matching ``text`` anywhere in the directory, ranked
    for the conversation (its area, then citywide, then other areas)."""
    conversation = _conversation(session, conversation_id)
    found = session.scalars(
        select(Resource).where(Resource.active.is_(True), _matches(text.strip()))
    ).all()
    ranked = _ranked(
        found,
        area=conversation.area,
        lang=conversation.lang,
        categories=[],
        other_areas=True,
    )
    return [_view(resource) for resource in ranked[:MAX_SEARCH_RESULTS]]


def _conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("conversation")
    return conversation


def _norm(area: str | None) -> str:
    return (area or "").strip().casefold()


def _ranked(
    resources: Iterable[Resource],
    *,
    area: str | None,
    lang: str,
    categories: list[str],
    other_areas: bool,
) -> list[Resource]:
    wanted_area = _norm(area)

    def area_rank(resource: Resource) -> int:
        here = _norm(resource.area)
        if wanted_area and here == wanted_area:
            return 0
        return 1 if not here else 2

    def key(resource: Resource) -> tuple[Any, ...]:
        category = str(resource.category)
        return (
            area_rank(resource),
            0 if lang in resource.languages else 1,
            categories.index(category) if category in categories else len(categories),
            resource.name.casefold(),
            resource.id,
        )

    return sorted(
        (r for r in resources if other_areas or area_rank(r) < 2),
        key=key,
    )


# --- CSV -------------------------------------------------------------------


def export_csv(session: Session) -> str:
    """The whole directory as CSV (the import's columns), retired rows too."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for resource in list_resources(session):
        cells = [
            resource.name,
            resource.category,
            resource.area,
            resource.contact,
            resource.opening_hours,
            ";".join(resource.languages),
            resource.notes,
            "yes" if resource.active else "no",
        ]
        writer.writerow([escape_cell(cell) for cell in cells])
    return buffer.getvalue()


def import_csv(session: Session, data: bytes) -> ImportReport:
    """Add or update resources from CSV; all rows or none.

    Raises InvalidResource listing every problem with its line number.
    """
    rows, formulas = _parse_csv(data)
    existing = {
        (_norm(resource.name), _norm(resource.area)): resource
        for resource in session.scalars(select(Resource))
    }
    now = utcnow()
    added = updated = 0
    for item in rows:
        resource = existing.get((_norm(item.name), _norm(item.area)))
        if resource is None:
            resource = Resource(created_at=now)
            session.add(resource)
            added += 1
        else:
            updated += 1
        _apply(resource, item, now)
    return ImportReport(added=added, updated=updated, formulas=formulas)


def _parse_csv(data: bytes) -> tuple[list[ResourceInput], tuple[str, ...]]:
    if len(data) > MAX_IMPORT_BYTES:
        raise InvalidResource([Problem("too_big", limit=MAX_IMPORT_BYTES)])
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise InvalidResource([Problem("empty_file", line=1)])
    names = [cell.strip().lower() for cell in header]
    problems = [
        Problem("unknown_column", value=name, line=1)
        for name in names
        if name not in COLUMNS
    ]
    problems += [
        Problem("missing_column", field=name, line=1)
        for name in REQUIRED
        if name not in names
    ]
    if problems:
        raise InvalidResource(problems)
    parsed: list[ResourceInput] = []
    formulas: list[str] = []
    first_line: dict[tuple[str, str], int] = {}
    line = reader.line_num
    for row in reader:
        # A quoted field may span lines: report where the row starts.
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        fields = {
            name: unescape_cell(cell) for name, cell in zip(names, row, strict=False)
        }
        formulas += [
            f"{start}: {name}" for name, cell in fields.items() if _is_formula(cell)
        ]
        try:
            item = parse_fields(fields, line=start)
        except InvalidResource as error:
            problems.extend(error.problems)
            continue
        key = (_norm(item.name), _norm(item.area))
        if key in first_line:
            problems.append(
                Problem(
                    "duplicate",
                    value=item.name,
                    line=start,
                    first_line=first_line[key],
                )
            )
            continue
        first_line[key] = start
        parsed.append(item)
    if problems:
        raise InvalidResource(problems)
    return parsed, tuple(formulas)


# A cell a spreadsheet would evaluate: OWASP's "CSV injection" characters.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Phone numbers and ranges ("+86 21 6666 0000", "-") are data, not formulas.
_PLAIN = re.compile(r"[+-]?[\d\s()./-]*")


def escape_cell(value: str) -> str:
    """OWASP's rule for CSV export: a cell that starts like a formula is
    prefixed with a single quote, so spreadsheets show it as text."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def unescape_cell(value: str) -> str:
    """Undo ``escape_cell``, so that an exported file imports unchanged."""
    if value.startswith("'") and value[1:].startswith(_FORMULA_START):
        return value[1:]
    return value


def _is_formula(value: str) -> bool:
    return value.startswith(_FORMULA_START) and not _PLAIN.fullmatch(value.strip())


def _decode(data: bytes) -> str:
    # Spreadsheets save UTF-8 (often with a BOM); Chinese Excel saves GB18030.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidResource([Problem("not_text")])
