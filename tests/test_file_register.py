"""The register of personal information files (個人情報ファイル簿): every column of the schema is
classified, the page and CSV show one prefecture's register, and only its staff (and administrators)
read it."""
from __future__ import annotations

import csv
import io

import pytest
from flask_babel import force_locale
from sqlalchemy import Column, Integer, MetaData, String, Table

from crm.audit import AuditEntry
from crm.auth.models import Role
from crm.extensions import db
from crm.file_register import operations
from crm.file_register.models import FILES, FILES_BY_KEY, ITEMS, NOT_PERSONAL, cleared_columns, items_of
from tests.conftest import HYOGO, TOTTORI


def unclassified(metadata) -> list[str]:
    """Columns described neither as personal items nor as not personal."""
    return [f"{table.name}.{column.name}" for table in metadata.sorted_tables for column in table.columns
            if f"{table.name}.{column.name}" not in ITEMS and f"{table.name}.{column.name}" not in NOT_PERSONAL]


def test_every_column_of_the_schema_is_described_as_personal_or_not(app):
    missing = unclassified(db.metadata)
    assert not missing, f"describe these columns in crm/file_register/models.py (ITEMS or NOT_PERSONAL): {missing}"


def test_a_new_column_of_personal_data_without_a_description_is_caught():
    metadata = MetaData()
    Table("alumni", metadata, Column("id", Integer, primary_key=True), Column("family_name", String),
          Column("passport_number", String))
    assert unclassified(metadata) == ["alumni.passport_number"]


def test_no_column_is_both_personal_and_not_and_no_description_outlives_its_column(app):
    assert not set(ITEMS) & set(NOT_PERSONAL)
    columns = {f"{table.name}.{column.name}" for table in db.metadata.sorted_tables for column in table.columns}
    assert set(ITEMS) | set(NOT_PERSONAL) <= columns


def test_every_item_belongs_to_a_file_and_every_file_has_items():
    assert {item.file for item in ITEMS.values()} == set(FILES_BY_KEY)
    assert {file for item in ITEMS.values() for file in item.also} <= set(FILES_BY_KEY)


def test_what_people_change_through_their_links_is_in_the_alumni_and_the_members_file():
    """Members correct their details through personal links too: their file names the column as well."""
    changes = ITEMS["self_updates.changes"]
    assert changes in items_of("alumni") and changes in items_of("members")
    assert changes not in items_of("contacts")


def test_what_anonymising_clears_the_schema_can_hold(app):
    """A cleared column takes NULL or, if it must hold something, text (names, free text)."""
    for table in db.metadata.sorted_tables:
        for name, value in cleared_columns(table).items():
            column = table.c[name]
            assert column.nullable or (value is not None and column.type.python_type is str), f"{table.name}.{name}"


def test_every_label_and_text_of_the_register_reads_in_japanese(app):
    texts = [item.label for item in ITEMS.values()]
    texts += [text for file in FILES for text in (file.name, file.purpose, file.scope, file.collection, file.recipients)]
    texts += list(operations.HEADINGS.values())
    with app.test_request_context(), force_locale("ja"):
        untranslated = [str(text) for text in texts if str(text).isascii()]
    assert not untranslated


def test_tottori_staff_read_their_register_as_a_printable_page(signed_in):
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    page = client.get("/file-register/").get_data(as_text=True)
    assert "Tottori" in page and "data-print" in page and "register.csv" in page
    for file in FILES:
        assert str(file.name) in page
    for label in ("Family name", "Email", "Summary of the contact", "Description of the activity", "Address"):
        assert label in page
    assert "aggregate figures only" in page
    assert "passport" not in page.lower()


def test_the_register_in_japanese_uses_the_standard_items(signed_in):
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    page = client.get("/file-register/", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    for heading in ("個人情報ファイルの名称", "利用目的", "記録項目", "記録範囲", "収集方法", "経常的提供先", "鳥取県"):
        assert heading in page, heading


def test_the_csv_has_one_row_per_file_and_is_recorded(app, signed_in):
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    response = client.get("/file-register/register.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Name of the file" and len(rows[0]) == len(operations.HEADINGS)
    assert [row[0] for row in rows[1:]] == [str(file.name) for file in FILES]
    assert "Family name" in rows[1][rows[0].index("Items recorded")]
    with app.app_context():
        assert db.session.query(AuditEntry).filter_by(action="export", record_type="file_register",
                                                      record_id=str(TOTTORI)).count() == 1


def test_tottori_staff_cannot_open_hyogo_register(signed_in):
    client = signed_in(Role.PREFECTURE_STAFF, TOTTORI)
    assert client.get(f"/file-register/?prefecture={HYOGO}").status_code == 404
    assert client.get(f"/file-register/register.csv?prefecture={HYOGO}").status_code == 404
    assert client.get(f"/file-register/?prefecture={TOTTORI}").status_code == 200


@pytest.mark.parametrize("role", [Role.MINISTRY_REVIEWER, Role.ASSOCIATION_STAFF])
def test_only_prefecture_staff_and_administrators_read_registers(signed_in, make_association, role):
    association = make_association() if role == Role.ASSOCIATION_STAFF else None
    client = signed_in(role, association=association)
    assert client.get("/file-register/").status_code == 403
    assert client.get(f"/file-register/register.csv?prefecture={TOTTORI}").status_code == 403


def test_an_administrator_chooses_a_prefecture(signed_in):
    client = signed_in(Role.ADMIN)
    chooser = client.get("/file-register/").get_data(as_text=True)
    assert 'name="prefecture"' in chooser and "data-print" not in chooser
    assert "Hyogo" in client.get(f"/file-register/?prefecture={HYOGO}").get_data(as_text=True)
    assert client.get("/file-register/?prefecture=99").status_code == 404
    assert client.get("/file-register/?prefecture=x").status_code == 404
