"""Outreach (issue 15): queueing a send to 20,000 confirmed subscribers — compose each letter in its
language (Markdown → nh3-sanitised HTML + text, signed unsubscribe link) and write the outbox — ≤ 5 s."""
from __future__ import annotations

import statistics
import time

from sqlalchemy import insert

RECIPIENTS = 20_000
RUNS = 3
BODY = "# 鳥取便り\n\n砂丘に**秋**が来ました。[県のサイト](https://www.pref.tottori.lg.jp/)\n\n- 梨狩り\n- 紅葉\n"


def run(database_url: str, scale: float = 1.0, reuse: bool = False):
    from bench.harness import Figure, bench_app, database_label
    from crm.alumni.models import Alumnus
    from crm.db import utcnow
    from crm.extensions import db
    from crm.outreach import operations
    from crm.outreach.models import MailingList, Subscription, SubscriptionStatus

    count = max(1, int(RECIPIENTS * scale))
    app = bench_app(database_url, reuse=False)
    label = database_label(app)
    with app.app_context():
        now = utcnow()
        mailing_list = MailingList(prefecture_id=31, name="World Tottori Fan Club", purpose_ja="お知らせ", purpose_en="News")
        db.session.add(mailing_list)
        db.session.flush()
        db.session.execute(insert(Alumnus), [
            {"id": number, "family_name": f"Smith{number}", "given_name": "Ann", "email": f"ann.{number}@example.org",
             "latin_key": f"smith{number} ann", "preferred_language": "en" if number % 3 else "ja",
             "created_at": now, "updated_at": now, "version": 1} for number in range(1, count + 1)])
        db.session.execute(insert(Subscription), [
            {"list_id": mailing_list.id, "alumnus_id": number, "status": SubscriptionStatus.SUBSCRIBED, "confirmed_at": now,
             "created_at": now, "version": 1} for number in range(1, count + 1)])
        db.session.commit()
        list_id = mailing_list.id
    times = []
    for _ in range(RUNS):
        with app.test_request_context():
            started = time.perf_counter()
            send = operations.create_send(db.session.get(MailingList, list_id), None,
                                          {"subject_ja": "鳥取便り", "body_ja": BODY, "subject_en": "Tottori news", "body_en": BODY})
            queued = operations.queue_send(send)
            db.session.commit()
            times.append((time.perf_counter() - started) * 1000)
            assert queued == count, queued
    print(f"{label}: queueing a send to {count} recipients: " + ", ".join(f"{t / 1000:.2f} s" for t in times))
    return [Figure("outreach", label, f"queue a bilingual send to {count} subscribers (compose + outbox)", len(times),
                   round(statistics.median(times), 1), round(max(times), 1), round(max(times), 1), None, 5000)]
