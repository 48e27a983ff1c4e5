"""Demo mailing lists: the World Tottori Fan Club (demo alumni subscribed, some reading English, some
Japanese, one unsubscribed, one whose use has ceased), a Hyogo list and TIA's member newsletter."""
from __future__ import annotations

from sqlalchemy import select

from crm.alumni.models import Alumnus, Placement
from crm.associations.models import Association, Member
from crm.extensions import db
from crm.outreach import operations
from crm.outreach.models import ConsentHow, MailingList

TOTTORI, HYOGO = 31, 28
LISTS = (
    {"prefecture_id": TOTTORI, "name": "World Tottori Fan Club", "is_default": True, "public_signup": True, "public_archive": True,
     "purpose_ja": "鳥取県が元JET参加者など鳥取のファンに県の最新情報とイベントの案内をお届けするため。",
     "purpose_en": "Tottori Prefecture sends its fans abroad, former JET participants among them, current news and event invitations."},
    {"prefecture_id": HYOGO, "name": "Hyogo JET alumni news", "is_default": True,
     "purpose_ja": "兵庫県が元JET参加者に県のお知らせを送るため。", "purpose_en": "News from Hyogo Prefecture for its JET alumni."},
)
TIA = "公益財団法人鳥取県国際交流財団"


def _list(values: dict) -> tuple[MailingList, bool]:
    """The demo list, and whether it was made now (subscribers are added once: a second run changes nothing)."""
    found = db.session.scalar(select(MailingList).where(MailingList.name == values["name"]))
    if found is not None:
        return found, False
    found = MailingList(**values)
    db.session.add(found)
    db.session.flush()
    return found, True


def seed_outreach() -> None:
    (fan_club, new_fan_club), (hyogo, new_hyogo) = (_list(values) for values in LISTS)
    placed = {prefecture: list(db.session.scalars(
        select(Alumnus).join(Placement, Placement.alumnus_id == Alumnus.id).where(Placement.prefecture_id == prefecture)
        .order_by(Alumnus.id).distinct())) for prefecture in (TOTTORI, HYOGO)}
    tottori = placed[TOTTORI][:8] if new_fan_club else []
    for number, alumnus in enumerate(tottori):
        subscription = operations.subscribe(fan_club, alumnus=alumnus, how=ConsentHow.FORM,
                                            wording=fan_club.purpose(alumnus.preferred_language))
        if number in (3, 5):
            alumnus.preferred_language = "ja"
        if number == 1 and subscription is not None:
            operations.unsubscribe(subscription, ConsentHow.UNSUBSCRIBE_LINK)
    if len(tottori) > 2 and not tottori[2].cease_use:
        # Subscribed once, then asked the prefecture to cease using their data: never sent anything.
        tottori[2].cease_use = True
    for alumnus in placed[HYOGO][:4] if new_hyogo else []:
        operations.subscribe(hyogo, alumnus=alumnus, how=ConsentHow.PAPER, wording=hyogo.purpose_ja)
    association = db.session.scalar(select(Association).where(Association.name_ja == TIA))
    if association is not None:
        newsletter, new_newsletter = _list({"association_id": association.id, "name": "TIA会報 (TIA member newsletter)",
                            "purpose_ja": "財団の会員に会報と催しの案内を送るため。",
                            "purpose_en": "The foundation's newsletter and event invitations for its members."})
        for member in db.session.scalars(select(Member).where(Member.association_id == association.id, Member.email.is_not(None)).limit(10)) if new_newsletter else []:
            operations.subscribe(newsletter, member=member, how=ConsentHow.PAPER, wording=newsletter.purpose_ja)
