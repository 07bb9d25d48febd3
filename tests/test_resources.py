"""The community resource directory: CRUD, CSV import and export, suggestions,
and the admin pages."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.errors import InvalidResource
from hotline.extensions import db
from hotline.models import Conversation, Resource, ResourceCategory, RiskLevel, Role
from hotline.services import resources
from hotline.services.conversations import start_conversation
from hotline.services.resources import ResourceInput
from tests.conftest import PASSWORD

HEADER = "name,category,area,contact,opening_hours,languages,notes,active\n"


@pytest.fixture
def session(app: Any) -> Iterator[Session]:
    """A session of its own, closed after the test (services commit)."""
    with app.app_context():
        own = db.new_session()
        try:
            yield own
        finally:
            own.close()


def add(session: Session, name: str, category: str, **fields: Any) -> int:
    return resources.create(
        session,
        resources.parse_fields(
            {"name": name, "category": category, "contact": "1", **fields}
        ),
    )


def conversation(
    session: Session,
    *,
    needs: list[str],
    area: str | None = None,
    lang: str = "zh",
    risk: RiskLevel = RiskLevel.LOW,
) -> int:
    conversation_id, _ = start_conversation(session, lang)
    session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(needs=needs, area=area, risk_level=risk, risk_rank=risk.rank)
    )
    session.commit()
    return conversation_id


# --- create, update, retire, list ----------------------------------------


def test_create_update_retire_and_list(session):
    pantry = add(
        session,
        "  Fudan Road food bank ",
        "food",
        area="Xuhui",
        languages="zh; EN",
        opening_hours="9:00-17:00",
    )
    add(session, "Pharmacy run", "medicine")
    view = resources.get(session, pantry)
    assert view.name == "Fudan Road food bank"
    assert view.languages == ["zh", "en"] and view.active

    resources.update(
        session,
        pantry,
        ResourceInput(
            name="Fudan Road pantry",
            category=ResourceCategory.FOOD,
            contact="021-1234 5678",
        ),
    )
    assert resources.get(session, pantry).contact == "021-1234 5678"
    assert resources.get(session, pantry).area == ""

    resources.retire(session, pantry)
    # Retired, not deleted: still there for the referrals that name it.
    assert session.scalar(select(func.count()).select_from(Resource)) == 2
    assert [r.name for r in resources.list_resources(session, active=True)] == [
        "Pharmacy run"
    ]
    assert [r.name for r in resources.list_resources(session, active=False)] == [
        "Fudan Road pantry"
    ]
    resources.set_active(session, pantry, True)
    assert resources.get(session, pantry).active


def test_list_filters_by_category_area_and_text(session):
    add(session, "Rice for elders", "food", area="Xuhui", notes="delivers to the door")
    add(session, "Citywide meals", "food")
    add(session, "Insulin runners", "medicine", area="xuhui")
    assert [r.name for r in resources.list_resources(session, category="food")] == [
        "Citywide meals",
        "Rice for elders",
    ]
    assert {r.name for r in resources.list_resources(session, area="XUHUI")} == {
        "Rice for elders",
        "Insulin runners",
    }
    assert [r.name for r in resources.list_resources(session, text="door")] == [
        "Rice for elders"
    ]
    # LIKE wildcards in the search are taken literally.
    assert resources.list_resources(session, text="%") == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "", "category": "food", "contact": "1"}, "name is required"),
        (
            {"name": "x", "category": "foo", "contact": "1"},
            "category 'foo' is not one of food, medicine",
        ),
        (
            {"name": "x", "category": "food", "contact": "1", "languages": "fr"},
            "languages 'fr' is not one of zh, en",
        ),
        (
            {"name": "x" * 201, "category": "food", "contact": "1"},
            "name is longer than 200 characters",
        ),
        (
            {"name": "x", "category": "food", "contact": "1", "active": "maybe"},
            "active 'maybe' is not one of yes, no",
        ),
    ],
)
def test_bad_fields_are_refused(fields, message):
    with pytest.raises(InvalidResource) as error:
        resources.parse_fields(fields)
    assert message in "; ".join(str(problem) for problem in error.value.problems)


# --- CSV -------------------------------------------------------------------


def test_csv_import_errors_name_their_lines_and_import_nothing(session):
    add(session, "Existing", "food")
    data = (
        HEADER
        + "Good one,food,Xuhui,138 0013 8000,,zh,,yes\n"
        + "Bad category,foo,,1,,,,\n"
        + '"Multi-line notes",medicine,,1,,,"first\nsecond",yes\n'
        + "No contact,medical,,,,,,\n"
        + "Bad lang,child,,1,,zh;fr,,\n"
        + "Good one,donations,xuhui,2,,,,\n"
    ).encode()
    with pytest.raises(InvalidResource) as error:
        resources.import_csv(session, data)
    assert [str(problem) for problem in error.value.problems] == [
        "line 3: category 'foo' is not one of food, medicine, medical, psychiatric, "
        "elderly_disability, child, donations, legal_financial",
        "line 6: contact is required",
        "line 7: languages 'fr' is not one of zh, en",
        "line 8: 'Good one' appears twice with the same area (first on line 2)",
    ]
    # Nothing half-imported: the good rows were not stored either.
    assert [r.name for r in resources.list_resources(session)] == ["Existing"]


def test_csv_header_problems(session):
    with pytest.raises(InvalidResource) as error:
        resources.import_csv(session, b"name,kind,contact\nx,food,1\n")
    assert [str(p) for p in error.value.problems] == [
        "line 1: unknown column 'kind'",
        "line 1: the column 'category' is missing",
    ]
    with pytest.raises(InvalidResource) as error:
        resources.import_csv(session, b"")
    assert str(error.value.problems[0]) == "line 1: the file has no header row"


def test_csv_round_trip_updates_instead_of_duplicating(session):
    add(
        session,
        "社区食物站",
        "food",
        area="徐汇",
        languages="zh;en",
        notes='says "hi", twice\nsecond line',
        opening_hours="8:00-20:00",
    )
    retired = add(session, "Old pharmacy", "medicine")
    resources.retire(session, retired)
    exported = resources.export_csv(session)
    assert exported.splitlines()[0] == HEADER.strip()

    before = [r.to_payload() for r in resources.list_resources(session)]
    report = resources.import_csv(session, exported.encode("utf-8-sig"))
    assert (report.added, report.updated) == (0, 2)
    after = [r.to_payload() for r in resources.list_resources(session)]
    strip = ("updated_at",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in after] == [
        {k: v for k, v in r.items() if k not in strip} for r in before
    ]

    # Edited in a spreadsheet (GB18030, as Chinese Excel saves it): one row
    # changed, one added.
    edited = (
        exported.replace("8:00-20:00", "7:00-21:00") + "新药房,medicine,,120,,,,\r\n"
    )
    report = resources.import_csv(session, edited.encode("gb18030"))
    assert (report.added, report.updated) == (1, 2)
    names = {r.name: r for r in resources.list_resources(session)}
    assert names["社区食物站"].opening_hours == "7:00-21:00"
    assert not names["Old pharmacy"].active
    assert names["新药房"].languages == []


# --- suggestions ---------------------------------------------------------


def test_suggestions_follow_needs_area_and_language(session):
    add(session, "Citywide food zh", "food", languages="zh")
    add(session, "Xuhui food en", "food", area="Xuhui", languages="en")
    add(session, "Xuhui food zh", "food", area="Xuhui", languages="zh")
    add(session, "Xuhui donations zh", "donations", area="xuhui ", languages="zh")
    add(session, "Pudong food zh", "food", area="Pudong", languages="zh")
    add(session, "Citywide medicine", "medicine", languages="zh")
    add(session, "Xuhui psychiatry", "psychiatric", area="Xuhui", languages="zh")
    retired = add(session, "Retired Xuhui food", "food", area="Xuhui", languages="zh")
    resources.retire(session, retired)

    in_xuhui = conversation(session, needs=["supplies"], area="XUHUI")
    assert [r.name for r in resources.suggest(session, in_xuhui)] == [
        # Same area first; those serving Chinese first; then food before
        # donations (the order needs map to categories); other areas never.
        "Xuhui food zh",
        "Xuhui donations zh",
        "Xuhui food en",
        "Citywide food zh",
    ]

    # No area known: citywide first, then every area.
    anywhere = conversation(session, needs=["supplies"], lang="en")
    assert [r.name for r in resources.suggest(session, anywhere)] == [
        "Citywide food zh",
        "Xuhui food en",
        "Pudong food zh",
        "Xuhui food zh",
        "Xuhui donations zh",
    ]

    # High risk brings psychiatric care to the top; no needs, no suggestions.
    urgent = conversation(
        session, needs=["medicine"], area="Xuhui", risk=RiskLevel.HIGH
    )
    assert [r.name for r in resources.suggest(session, urgent)] == [
        "Xuhui psychiatry",
        "Citywide medicine",
    ]
    assert resources.suggest(session, conversation(session, needs=[])) == []


def test_search_covers_the_whole_directory(session):
    add(session, "Legal aid clinic", "legal_financial", notes="rent arrears")
    add(session, "Rent relief Xuhui", "legal_financial", area="Xuhui")
    add(session, "Rent relief Pudong", "legal_financial", area="Pudong")
    chat = conversation(session, needs=[], area="Pudong")
    assert [r.name for r in resources.search(session, chat, "RENT")] == [
        "Rent relief Pudong",
        "Legal aid clinic",
        "Rent relief Xuhui",
    ]


# --- admin pages -----------------------------------------------------------


@pytest.fixture
def directory_admin(app, make_user) -> Callable[[Role], Any]:
    def sign_in(role: Role = Role.ADMIN) -> Any:
        make_user(f"dir-{role.value}", role)
        http = app.test_client()
        response = http.post(
            "/api/auth/login",
            json={"username": f"dir-{role.value}", "password": PASSWORD},
        )
        assert response.status_code == 200
        http.get("/console/login?lang=en")  # pages in English from here on
        return http

    return sign_in


FORM = {
    "name": "Meals on wheels",
    "category": "elderly_disability",
    "area": "Jing'an",
    "contact": "021 5555 0101",
    "opening_hours": "10:00-14:00",
    "languages": ["zh", "en"],
    "notes": "Hot lunch for people over 70",
    "active": "y",
}


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERVISOR], ids=str)
def test_admin_pages_add_edit_retire_and_reactivate(app, directory_admin, role):
    http = directory_admin(role)
    response = http.post("/admin/resources/new", data=FORM)
    assert response.status_code == 302
    page = http.get("/admin/resources").get_data(as_text=True)
    assert "Meals on wheels" in page and "021 5555 0101" in page
    with app.app_context():
        resource_id = db.session.scalar(select(Resource.id))

    edited = {**FORM, "name": "Meals on wheels (Jing'an)", "languages": ["zh"]}
    assert (
        http.post(f"/admin/resources/{resource_id}/edit", data=edited).status_code
        == 302
    )
    form = http.get(f"/admin/resources/{resource_id}/edit").get_data(as_text=True)
    assert "Meals on wheels (Jing&#39;an)" in form

    assert (
        http.post(
            f"/admin/resources/{resource_id}/active", data={"active": "0"}
        ).status_code
        == 302
    )
    assert "Meals on wheels" not in http.get("/admin/resources").get_data(as_text=True)
    retired = http.get("/admin/resources?status=retired").get_data(as_text=True)
    assert "Meals on wheels (Jing&#39;an)" in retired
    http.post(f"/admin/resources/{resource_id}/active", data={"active": "1"})
    with app.app_context():
        resource = db.session.get(Resource, resource_id)
        assert resource.active and resource.languages == ["zh"]


def test_admin_form_shows_problems_and_stores_nothing(app, directory_admin):
    http = directory_admin()
    response = http.post("/admin/resources/new", data={**FORM, "contact": " "})
    assert response.status_code == 200
    assert "Contact is required." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0


def test_admin_import_shows_line_numbered_errors_then_imports(app, directory_admin):
    http = directory_admin()
    bad = HEADER + "Good,food,,1,,,,\nBad,foo,,1,,,,\n"
    response = http.post(
        "/admin/resources/import",
        data={"file": (io.BytesIO(bad.encode()), "resources.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "Line 3: category &#39;foo&#39; is not one of food, medicine" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Resource)) == 0

    good = HEADER + "Good,food,,1,,zh,,\n"
    response = http.post(
        "/admin/resources/import",
        data={"file": (io.BytesIO(good.encode()), "resources.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    export = http.get("/admin/resources/export.csv")
    assert export.mimetype == "text/csv"
    assert (
        export.get_data(as_text=True)
        == "\ufeff" + HEADER.replace("\n", "\r\n") + "Good,food,,1,,zh,,yes\r\n"
    )


def test_counselors_cannot_reach_the_directory_pages(directory_admin):
    http = directory_admin(Role.COUNSELOR)
    assert http.get("/admin/resources").status_code == 403
    assert http.post("/admin/resources/new", data=FORM).status_code == 403
    assert http.get("/admin/resources/export.csv").status_code == 403


# --- CSV formula injection and the import size (issue #19, points 6 and 9) ---


def _import(http, text: str):
    return http.post(
        "/admin/resources/import?lang=en",
        data={"file": (io.BytesIO(text.encode()), "resources.csv")},
        content_type="multipart/form-data",
    )


def test_export_neutralises_formulas_and_import_warns(app, directory_admin):
    http = directory_admin()
    risky = (
        HEADER
        + '"=HYPERLINK(""http://evil.example"",""help"")",food,,+86 21 6666 0000,'
        + ",,@SUM(A1),\n"
    )
    response = _import(http, risky)
    assert response.status_code == 302
    warning = http.get("/admin/resources?lang=en").get_data(as_text=True)
    assert "start like a spreadsheet formula" in warning
    assert "2: name" in warning and "2: notes" in warning
    # A phone number starting with + is data, not a formula.
    assert "2: contact" not in warning
    exported = http.get("/admin/resources/export.csv").get_data(as_text=True)
    row = exported.splitlines()[1]
    assert row.startswith("\"'=HYPERLINK(")
    assert ",'+86 21 6666 0000," in row
    assert ",'@SUM(A1)," in row
    # What was exported imports back unchanged (the quote is ours).
    before = http.get("/admin/resources/export.csv").get_data(as_text=True)
    assert _import(http, before.lstrip("\ufeff")).status_code == 302
    assert http.get("/admin/resources/export.csv").get_data(as_text=True) == before


def test_an_import_up_to_the_documented_size_is_accepted(app, directory_admin):
    from hotline.services.resources import MAX_IMPORT_BYTES

    http = directory_admin()
    rows = [f"Pantry {n},food,,1,,,{'x' * 150},\n" for n in range(6000)]
    body = HEADER + "".join(rows)
    assert 116 * 1024 < len(body.encode()) < MAX_IMPORT_BYTES
    response = _import(http, body)
    assert response.status_code == 302, response.status_code
    too_big = _import(http, HEADER + "x" * (MAX_IMPORT_BYTES + 10))
    assert too_big.status_code in (400, 413)
    # Every other request keeps the 64 KB limit.
    assert (
        http.post("/admin/resources/new", data={"x": "y" * 70_000}).status_code == 413
    )
