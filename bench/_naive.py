"""The naive sender the send benchmark compares Broadsheet's worker against.

Per recipient: render the article email with the reader's own values (Jinja2 + premailer),
build a fresh `email.message.EmailMessage` with both parts, `as_bytes()`, and send it; one SMTP
connection per 100 messages, one process. Runs in a fresh process so its peak RSS is its own.
"""

from __future__ import annotations

import os
import resource
import smtplib
import time
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from broadsheet.mail.compose import (
    archive_url,
    publication_name,
    subscription_urls,
    unsubscribe_url,
)
from broadsheet.mail.rendering import render_email
from broadsheet.mail.skeleton import domain_of, greeting
from broadsheet.models import Campaign, Subscriber, SubscriberStatus
from broadsheet.settings import load_settings

import _proc

BATCH = 100


def naive_send(env: dict[str, str], campaign_id: int, count: int) -> dict[str, float]:
    """Send the campaign's article to its first `count` active readers the naive way."""
    os.environ.update(env)
    settings = load_settings()
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        article = campaign.article
        readers = session.execute(
            select(Subscriber.id, Subscriber.email, Subscriber.name)
            .where(Subscriber.status == SubscriberStatus.ACTIVE)
            .order_by(Subscriber.id)
            .limit(count)
        ).all()
        session.expunge_all()
    engine.dispose()
    shared = {
        "article": article,
        "body_html": article.body_html,
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "archive_url": archive_url(settings, article.slug),
        "publication_name": publication_name(settings),
        "public_url": settings.public_url,
    }
    envelope_from = "news@example.test"
    domain = domain_of(settings.mail_from)

    def personal(reader_id: int, email: str, name: str) -> dict[str, object]:
        return {
            **shared,
            "name": name,
            "greeting": greeting(name),
            "email": email,
            "unsubscribe_url": unsubscribe_url(settings, reader_id, campaign_id),
            "preferences_url": subscription_urls(settings, reader_id, campaign_id)[1],
        }

    render_email("article", personal(*readers[0]))  # compile the templates outside the clock
    timings = {"render": 0.0, "build": 0.0, "smtp": 0.0}
    cpu_before = _cpu()
    started = time.perf_counter()
    conn: smtplib.SMTP | None = None
    for index, (reader_id, email, name) in enumerate(readers):
        t0 = time.perf_counter()
        rendered = render_email("article", personal(reader_id, email, name))
        t1 = time.perf_counter()
        message = EmailMessage()
        message["Subject"] = rendered.subject
        message["From"] = settings.mail_from
        message["To"] = Address(display_name=name, addr_spec=email)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid("naive", domain=domain)
        message["List-Unsubscribe"] = f"<{unsubscribe_url(settings, reader_id, campaign_id)}>"
        message["X-Bench"] = "naive"
        message.set_content(rendered.text)
        message.add_alternative(rendered.html, subtype="html")
        data = message.as_bytes(policy=SMTP)
        t2 = time.perf_counter()
        if index % BATCH == 0:
            if conn is not None:
                conn.quit()
            conn = smtplib.SMTP(settings.smtp.host, settings.smtp.port, timeout=30)
        assert conn is not None
        conn.sendmail(envelope_from, [email], data)
        t3 = time.perf_counter()
        timings["render"] += t1 - t0
        timings["build"] += t2 - t1
        timings["smtp"] += t3 - t2
    if conn is not None:
        conn.quit()
    elapsed = time.perf_counter() - started
    return {
        "messages": len(readers),
        "seconds": elapsed,
        "cpu_seconds": _cpu() - cpu_before,
        "peak_rss_kb": _proc.status_kb(os.getpid(), "VmHWM") or 0,
        **{f"{k}_seconds": v for k, v in timings.items()},
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
