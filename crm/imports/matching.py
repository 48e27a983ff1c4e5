"""Which existing record a row is: the importer's reachable alumni by email, else by Latin name key
and placement start year (never another prefecture's people: see crm.imports.operations)."""
from __future__ import annotations


from sqlalchemy import select

from crm.access import scoped
from crm.alumni.models import Alumnus, Placement
from crm.extensions import db


# --- Matching ---------------------------------------------------------------------------------------------

class Matcher:
    """The importer's reachable alumni, by email and by Latin name key + placement start year,
    loaded once in batches."""

    def __init__(self, prefecture_id: int):
        self.prefecture_id = prefecture_id
        self.by_email: dict[str, int] = {}
        # (name key, start year) → (id, whether the record has an email)
        self.by_name: dict[tuple[str, int], tuple[int, bool]] = {}
        reachable = scoped(Alumnus).with_only_columns(Alumnus.id, Alumnus.email, Alumnus.email_secondary)
        for alumnus_id, email, secondary in db.session.execute(reachable.execution_options(yield_per=5000)):
            for address in (email, secondary):
                if address:
                    self.by_email.setdefault(address, alumnus_id)
        # A placement in the importer's prefecture is what puts an alumnus in its scope.
        placed = (select(Placement.alumnus_id, Alumnus.latin_key, Placement.start_year, Alumnus.email)
                  .join(Alumnus, Alumnus.id == Placement.alumnus_id)
                  .where(Placement.prefecture_id == prefecture_id, Alumnus.latin_key != ""))
        for alumnus_id, latin_key, start_year, email in db.session.execute(placed.execution_options(yield_per=5000)):
            self.by_name.setdefault((latin_key, start_year), (alumnus_id, bool(email)))

    def find(self, values: dict) -> int | None:
        alumnus = values["alumnus"]
        for address in (alumnus.get("email"), alumnus.get("email_secondary")):
            if address and address in self.by_email:
                return self.by_email[address]
        # Else the name and placement: but two different emails are two different people, and a name
        # without a Latin key (kanji only) matches nobody.
        found = self.by_name.get((values["latin_key"], values["placement"]["start_year"])) if values["latin_key"] else None
        if found is None or (found[1] and alumnus.get("email")):
            return None
        return found[0]

    def remember(self, alumnus_id: int, values: dict) -> None:
        for address in (values["alumnus"].get("email"), values["alumnus"].get("email_secondary")):
            if address:
                self.by_email.setdefault(address, alumnus_id)
        if values["latin_key"]:
            self.by_name.setdefault((values["latin_key"], values["placement"]["start_year"]),
                                    (alumnus_id, bool(values["alumnus"].get("email"))))

