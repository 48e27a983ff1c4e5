"""What each column of the schema holds, for the register of personal information files and for
anonymisation (crm.retention): one description table keyed by `table.column`, next to the files
(個人情報ファイル) the CRM keeps.

What counts as personal: a column whose value says something about an identifiable person the CRM
keeps records of (an alumnus, an association member): names, addresses, dates of their life with
the prefecture, free text written about them. Not personal: record numbers and links between rows,
bookkeeping (versions, row times), organisational and reference data, aggregate figures, the
prefecture's own staff accounts (files on a body's own staff need no register entry), uploads in
transit (copies of items described under the file they are imported into), exports waiting for their
download (the same, kept for days) and the access record.
Every column of the metadata is classified here, one way or the other, so a new column cannot
slip into the database undescribed: tests/test_file_register.py walks the metadata.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from crm.glossary import term


@dataclass(frozen=True)
class PersonalFile:
    """One 個人情報ファイル: its name, purpose, whose records, how collected, who receives what."""

    key: str
    name: object
    purpose: object
    scope: object
    collection: object
    recipients: object
    # Which retention rule (crm.retention) ends its records; None: none runs yet.
    retention: str | None


@dataclass(frozen=True)
class Item:
    """A personal column: its label in the register and the file it belongs to. `kept`: left as it is
    when the person is anonymised, because the aggregate reports count it (a coarse attribute or a
    figure, never a name, a contact detail or free text)."""

    label: object
    file: str
    kept: bool = False
    special_care: bool = False  # 要配慮個人情報 (race, creed, medical history, criminal record …)
    # Other files whose people have this column too (one table kept for several files).
    also: tuple[str, ...] = ()


_AGGREGATES_ONLY = _l("None outside the prefecture. The ministry receives aggregate figures only, under disclosure "
                      "control (no names, contact details or free text).")

FILES = (
    PersonalFile(
        "alumni", _l("JET Programme alumni registry"),
        _l("Keeping in touch with former JET Programme participants who served in the prefecture, inviting them to "
           "events and exchange programs, and reporting the return on the prefecture's JET investment."),
        _l("Former JET Programme participants (ALT, CIR, SEA) who served in the prefecture."),
        _l("From the person (forms, messages, events) and from the prefecture's own records of its JET participants, "
           "entered or imported by its staff."),
        _AGGREGATES_ONLY, "inactive"),
    PersonalFile(
        "contacts", _l("Contact log of JET alumni"),
        _l("Recording the prefecture's contacts with its alumni and the follow-ups they call for."),
        _l("Alumni in the registry whom the prefecture's staff contacted or who contacted them."),
        _l("Written by the prefecture's staff at each contact."),
        _AGGREGATES_ONLY, "inactive"),
    PersonalFile(
        "ambassadors", _l("Hometown ambassadors and alumni activities"),
        _l("Appointing alumni as hometown ambassadors and recording what they do for the prefecture, for the local "
           "return report."),
        _l("Alumni appointed ambassador by the prefecture or whose activities for it were recorded."),
        _l("From the person's reports and the prefecture's staff, verified by the staff."),
        _AGGREGATES_ONLY, "inactive"),
    PersonalFile(
        "members", _l("Members of the exchange associations"),
        _l("Managing the membership, annual fees and communications of the prefecture's international exchange "
           "associations."),
        _l("Individual and organisational members of the international exchange associations in the prefecture."),
        _l("From the member's application, entered or imported by the association's staff."),
        _l("None outside the association and the prefecture."), None),
    PersonalFile(
        "subscribers", _l("Newsletter subscribers and their consent"),
        _l("Sending the newsletters and event invitations of each mailing list to the people who agreed to receive "
           "them, and keeping the record of that consent."),
        _l("Alumni, association members and members of the public who subscribed to a mailing list."),
        _l("From the person (sign-up page with confirmation by email, forms, paper) and from the staff who record "
           "their consent; the consent history records when, how and by whom."),
        _l("None outside the list's owner. The ministry receives counts per prefecture only, under disclosure control."),
        None),
    PersonalFile(
        "mail", _l("Mail sent to alumni and members"),
        _l("Sending the messages the prefecture or association sends to alumni and members (newsletters, "
           "confirmations), and keeping their delivery log and the addresses that bounced."),
        _l("Alumni and members the prefecture or association sent a message to."),
        _l("From the registry and the member lists when a message is sent; bounces from the receiving mail servers."),
        _l("The prefecture's or association's mail server, to deliver the messages."), None),
)
FILES_BY_KEY = {file.key: file for file in FILES}


def _items(table: str, file: str, labels: dict, kept: frozenset = frozenset()) -> dict[str, Item]:
    return {f"{table}.{column}": Item(label, file, kept=column in kept) for column, label in labels.items()}


ITEMS: dict[str, Item] = {
    **_items("alumni", "alumni", {
        "family_name": _l("Family name"), "given_name": _l("Given name"), "name_katakana": _l("Name in katakana"),
        "email": term("email_address"), "email_secondary": _l("Second email address"), "phone": term("phone_number"),
        "citizenship": _l("Citizenship"), "residence_country": term("country_of_residence"), "city": _l("City"),
        "employer": _l("Employer"), "sector": term("sector"), "job_title": _l("Job title"),
        "linkedin_url": _l("LinkedIn profile"), "languages": _l("Languages"), "japanese_level": _l("Japanese level"),
        "interests": _l("Interests"), "contact_consent": _l("Consent to be contacted"),
        "preferred_language": _l("Language of newsletters"), "consent_on": _l("Date of consent"),
        "consent_source": _l("How consent was given"), "cease_use": _l("Suspension of use"),
        "archived_at": _l("Archived"), "latin_key": _l("Name search keys"), "kana_key": _l("Name search keys"),
        "search_text": _l("Name search keys"), "created_at": _l("Date registered"),
        "confirmed_on": _l("Date the person last confirmed their details"),
    }, kept=frozenset({"residence_country", "contact_consent", "preferred_language", "cease_use", "archived_at", "created_at",
                       "confirmed_on"})),
    # What a person changed through their personal link, with the values before (for undo): an
    # alumnus's or an association member's.
    "self_updates.changes": Item(_l("Changes the person made through their personal link"), "alumni", also=("members",)),
    **_items("placements", "alumni", {
        "organisation": _l("School or office of the placement"), "position": _l("Position (ALT, CIR, SEA)"),
        "start_year": _l("Years of the placement"), "end_year": _l("Years of the placement"),
    }, kept=frozenset({"position", "start_year", "end_year"})),
    **_items("alumni_tags", "alumni", {"tag_id": _l("Fields of interest (tags)")}, kept=frozenset({"tag_id"})),
    **_items("alumni_group_members", "alumni", {"group_id": _l("Alumni networks joined")}, kept=frozenset({"group_id"})),
    **_items("program_alumni", "alumni", {"program_id": _l("Exchange programs taken part in")}, kept=frozenset({"program_id"})),
    **_items("contact_entries", "contacts", {
        "contacted_on": _l("Date of contact"), "channel": _l("Channel"), "direction": _l("Who contacted whom"),
        "summary": _l("Summary of the contact"), "follow_up_on": _l("Follow-up date"), "done_at": _l("Follow-up done"),
    }, kept=frozenset({"contacted_on", "channel", "direction", "done_at"})),
    **_items("ambassadors", "ambassadors", {
        "title": term("ambassador_title"), "region": _l("Region covered"),
        "term_start_on": _l("Term of appointment"), "term_end_on": _l("Term of appointment"),
        "end_confirmed_on": _l("Term of appointment"),
    }, kept=frozenset({"term_start_on", "term_end_on"})),
    **_items("ambassador_activities", "ambassadors", {
        "occurred_on": _l("Date of the activity"), "fiscal_year": _l("Date of the activity"),
        "kind": term("activity_kind"), "country": term("country"), "description": _l("Description of the activity"),
        "people_reached": _l("Outcome figures"), "visitors_brought": _l("Outcome figures"),
        "economic_value_yen": _l("Outcome figures"), "economic_value_basis": _l("Basis of the economic value"),
        "funds_raised_yen": _l("Outcome figures"), "media_items": _l("Outcome figures"),
        "evidence_url": _l("Evidence link"), "status": _l("Verification"), "self_reported": _l("Verification"),
    }, kept=frozenset({"self_reported", "occurred_on", "fiscal_year", "kind", "country", "people_reached", "visitors_brought",
                       "economic_value_yen", "funds_raised_yen", "media_items", "status"})),
    # An APPI request is part of the person's record with the prefecture; its dates, kind and outcome
    # stay on anonymisation so the administrators' overview of deadlines still adds up.
    **_items("privacy_requests", "alumni", {
        "kind": _l("Requests for disclosure, correction or suspension of use"),
        "received_on": _l("Requests for disclosure, correction or suspension of use"),
        "due_on": _l("Requests for disclosure, correction or suspension of use"),
        "status": _l("Requests for disclosure, correction or suspension of use"),
        "decision": _l("Requests for disclosure, correction or suspension of use"),
        "decided_on": _l("Requests for disclosure, correction or suspension of use"),
        "extension_days": _l("Requests for disclosure, correction or suspension of use"),
        "extension_notified_on": _l("Requests for disclosure, correction or suspension of use"),
        "identity_verified_by": _l("How the requester's identity was verified"),
        "requester_contact": _l("The requester's contact details"),
        "extension_reason": _l("Reasons given to the requester"),
        "decision_reason": _l("Reasons given to the requester"),
    }, kept=frozenset({"kind", "received_on", "due_on", "status", "decision", "decided_on", "extension_days",
                       "extension_notified_on"})),
    **_items("association_members", "members", {
        "kind": _l("Individual or organisation"), "member_type": _l("Membership type"), "name": term("member_name"),
        "name_kana": _l("Name in kana"), "joined_on": _l("Date joined"), "status": _l("Membership status"),
        "email": term("email_address"), "phone": term("phone_number"), "postal_code": _l("Postal code"),
        "address": _l("Address"), "consent_to_contact": _l("Consent to be contacted"), "created_at": _l("Date registered"),
        "preferred_language": _l("Language of newsletters"),
    }, kept=frozenset({"kind", "member_type", "joined_on", "status", "consent_to_contact", "created_at", "preferred_language"})),
    **_items("subscriptions", "subscribers", {
        "email": term("email_address"), "name": _l("Name given at sign-up"), "language": _l("Language of newsletters"),
        "status": _l("Subscription and its consent history"), "confirmed_at": _l("Subscription and its consent history"),
        "created_at": _l("Subscription and its consent history"),
    }, kept=frozenset({"status", "confirmed_at", "created_at", "language"})),
    **_items("consent_events", "subscribers", {
        "at": _l("Subscription and its consent history"), "action": _l("Subscription and its consent history"),
        "how": _l("Subscription and its consent history"), "wording": _l("Wording shown when consent was given"),
    }, kept=frozenset({"at", "action", "how", "wording"})),
    **_items("outreach_rsvps", "subscribers", {
        "answer": _l("Answers to event invitations"), "answered_at": _l("Answers to event invitations"),
    }, kept=frozenset({"answer", "answered_at"})),
    **_items("membership_fees", "members", {
        "fiscal_year": _l("Annual fees and their payment"), "amount_due": _l("Annual fees and their payment"),
        "paid_on": _l("Annual fees and their payment"), "method": _l("Annual fees and their payment"),
        "receipt_number": _l("Annual fees and their payment"), "note": _l("Note on the fee"),
    }, kept=frozenset({"fiscal_year", "amount_due", "paid_on", "method"})),
    **_items("outbox_messages", "mail", {
        "to_address": _l("Address a message was sent to"), "to_name": _l("Name a message was addressed to"),
        "subject": _l("Messages sent and their delivery"), "text_body": _l("Messages sent and their delivery"),
        "html_body": _l("Messages sent and their delivery"), "status": _l("Messages sent and their delivery"),
        "sent_at": _l("Messages sent and their delivery"), "last_error": _l("Messages sent and their delivery"),
        "language": _l("Messages sent and their delivery"),
    }, kept=frozenset({"status", "sent_at", "language"})),
    **_items("mail_addresses", "mail", {
        "address": _l("Address a message was sent to"), "hard_bounced_at": _l("Bounced messages"),
        "soft_bounces": _l("Bounced messages"), "last_bounce": _l("Bounced messages"),
        "last_bounce_at": _l("Bounced messages"),
    }, kept=frozenset({"soft_bounces"})),
}

# Why a column is not personal data (for the reader of this module; no page shows them).
KEY = "record number or link between records"
BOOKKEEPING = "bookkeeping"
ORGANISATION = "organisational or reference data"
AGGREGATE = "aggregate figures"
STAFF = "the prefecture's own staff accounts"
TRANSIT = ("a file in transit (an upload, or in import_uploads an export waiting for its download): copies of the items "
           "of the file it is imported into or exported from")
EXPORT_IN_TRANSIT = ("an export waiting for its download: copies of the items of the files it is exported from (and the "
                     "filter, which may name a person), kept for EXPORT_KEEP_DAYS, then deleted with the job")
ACCESS_RECORD = "the access record: copies of the files' items, scrubbed when a person is anonymised"
TECHNICAL = "technical"


def _same(reason: str, table: str, columns: str) -> dict[str, str]:
    return {f"{table}.{column}": reason for column in columns.split()}


NOT_PERSONAL: dict[str, str] = {
    **_same(KEY, "alumni", "id"), **_same(BOOKKEEPING, "alumni", "updated_at version"),
    **_same(KEY, "placements", "id alumnus_id prefecture_id"), **_same(BOOKKEEPING, "placements", "version"),
    **_same(KEY, "alumni_tags", "alumnus_id"), **_same(KEY, "alumni_group_members", "alumnus_id"),
    **_same(KEY, "program_alumni", "id alumnus_id linked_by_id"), **_same(BOOKKEEPING, "program_alumni", "linked_at"),
    **_same(KEY, "contact_entries", "id alumnus_id prefecture_id staff_id assignee_id"),
    **_same(BOOKKEEPING, "contact_entries", "created_at"),
    **_same(KEY, "ambassadors", "id alumnus_id prefecture_id"), **_same(BOOKKEEPING, "ambassadors", "created_at version"),
    **_same(KEY, "ambassador_activities", "id alumnus_id prefecture_id reviewed_by_id"),
    **_same(BOOKKEEPING, "ambassador_activities", "reviewed_at created_at version"),
    **_same(KEY, "association_members", "id association_id"), **_same(BOOKKEEPING, "association_members", "version"),
    **_same(KEY, "membership_fees", "id member_id"), **_same(BOOKKEEPING, "membership_fees", "version"),
    **_same(ORGANISATION, "tags", "id name"),
    **_same(ORGANISATION, "alumni_groups", "id prefecture_id name platform url member_count version"),
    **_same(ORGANISATION, "japan_alumni_associations", "id name country city founded_year member_count contact website version"),
    **_same(ORGANISATION, "prefectures", "id name_en name_ja region"),
    **_same(ORGANISATION, "associations", "id prefecture_id name_ja name_en municipality kind officially_recognised "
                                          "municipality_size secretariat staff_full_time staff_on_loan staff_volunteers "
                                          "contact website founded_year feed_token_hash version"),
    **_same(ORGANISATION, "association_programs", "id association_id title_ja title_en kind starts_at ends_at venue status "
                                                  "budget actual_cost participants_japanese participants_foreign volunteers "
                                                  "outcome_notes version"),
    **_same(ORGANISATION, "program_funding_lines", "id program_id source grantor amount"),
    **_same(ORGANISATION, "program_partners", "id program_id kind name"),
    **_same(ORGANISATION, "jet_investments", "id prefecture_id fiscal_year alt_count cir_count sea_count hosting_cost_yen "
                                             "programme_spending_yen version"),
    **_same(AGGREGATE, "report_changes", "id prefecture_id fiscal_year"),
    **_same(AGGREGATE, "report_generations", "prefecture_id fiscal_year generation"),
    **_same(AGGREGATE, "report_publications", "fiscal_year method generation publication"),
    **_same(AGGREGATE, "report_figures", "key fiscal_year prefecture_id generation figures"),
    **_same(STAFF, "users", "id email display_name password_hash role prefecture_id association_id locale active "
                            "session_version version created_at last_login_at password_changed_at"),
    **_same(TRANSIT, "import_jobs", "id target prefecture_id created_by_id filename stored_name size format encoding "
                                    "delimiter sheet headers mapping options state problem row_count errors preview "
                                    "created_count updated_count unchanged_count attempts dry_run created_at started_at "
                                    "finished_at"),
    **_same(TRANSIT, "import_uploads", "stored_name part data"),
    **_same(TRANSIT, "import_checked_batches", "job_id fingerprint part data"),
    **_same(TRANSIT, "import_undo", "id job_id data"),
    **_same(KEY, "export_jobs", "id created_by_id prefecture_id association_id"),
    **_same(BOOKKEEPING, "export_jobs", "target format filename locale state record_count row_count size stored_name "
                                        "created_at finished_at"),
    **_same(EXPORT_IN_TRANSIT, "export_jobs", "filters people"),
    **_same(TECHNICAL, "import_mappings", "id prefecture_id target name headers_key mapping defaults updated_at"),
    **_same(TECHNICAL, "alumni_search_backlog", "id first_id last_id"),
    **_same(TECHNICAL, "rate_limit_counters", "key count expires_at"),
    **_same(ACCESS_RECORD, "audit_entries", "id at actor_id actor action record_type record_id changes details ip"),
    **_same(KEY, "erasure_requests", "id alumnus_id prefecture_id recorded_by_id"),
    **_same(BOOKKEEPING, "erasure_requests", "requested_on created_at"),
    **_same(KEY, "privacy_requests", "id prefecture_id alumnus_id recorded_by_id"),
    **_same(BOOKKEEPING, "privacy_requests", "created_at version"),
    **_same(KEY, "personal_links", "id alumnus_id member_id created_by_id"),
    **_same(TECHNICAL, "personal_links", "token_hash"),
    **_same(BOOKKEEPING, "personal_links", "created_at expires_at revoked_at"),
    **_same(KEY, "self_updates", "id alumnus_id member_id activity_id prefecture_id undone_by_id"),
    **_same(BOOKKEEPING, "self_updates", "kind at undone_at"),
    **_same(ORGANISATION, "mailing_lists", "id prefecture_id association_id name purpose_ja purpose_en public_signup "
                                           "public_archive is_default created_at version"),
    **_same(ORGANISATION, "outreach_sends", "id list_id subject_ja body_ja subject_en body_en filters program_id status "
                                            "scheduled_at recipient_count created_at"),
    **_same(STAFF, "outreach_sends", "created_by_id"),
    **_same(KEY, "subscriptions", "id list_id alumnus_id member_id"), **_same(BOOKKEEPING, "subscriptions", "version"),
    **_same(KEY, "consent_events", "id subscription_id by_id send_id"),
    **_same(KEY, "outreach_rsvps", "id send_id subscription_id program_id"),
    **_same(KEY, "anonymisations", "alumnus_id"), **_same(BOOKKEEPING, "anonymisations", "rule at"),
    # The unsubscribe links carry the subscription's token: a key, not an item about the person.
    **_same(KEY, "outbox_messages", "id batch recipient_key message_id bounce_token unsubscribe_url unsubscribe_mailto"),
    **_same(BOOKKEEPING, "outbox_messages", "attempts next_attempt_at lease_until lease_token created_at"),
    **_same(ORGANISATION, "outbox_messages", "list_id"),
    **_same(KEY, "mail_addresses", "id"),
}


def items_of(file_key: str) -> list[Item]:
    """The file's items, one per label (a label several columns share appears once), in schema order."""
    seen, items = set(), []
    for item in ITEMS.values():
        if file_key in (item.file, *item.also) and str(item.label) not in seen:
            seen.add(str(item.label))
            items.append(item)
    return items


def cleared_columns(table) -> dict[str, object]:
    """What anonymising a person writes into `table`'s personal columns that are not kept: NULL where
    the column takes it, else an em dash (names, free text the schema requires)."""
    values = {}
    for column in table.columns:
        item = ITEMS.get(f"{table.name}.{column.name}")
        if item is not None and not item.kept and column.computed is None:
            values[column.name] = None if column.nullable else ANONYMISED
    return values


ANONYMISED = "—"
