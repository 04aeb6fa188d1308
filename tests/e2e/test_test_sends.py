"""An editor's test send through the real worker and SMTP server: each typed address gets the
previewed message but for its personal fields and the `[Test]` subject, the campaign keeps the
relay's answers as its test report, and nothing is written to the ledger."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from broadsheet.mail.preview import SAMPLE_EMAIL
from broadsheet.models import Campaign, Delivery
from tests.support.admin import post_form
from tests.support.factories import make_campaign
from tests.support.messages import personal_parts


def stored_test_report(committed, campaign_id: int):
    try:
        return committed.scalar(select(Campaign.test_report).where(Campaign.id == campaign_id))
    finally:
        committed.rollback()


def test_a_test_send_arrives_as_the_preview_but_for_its_personal_fields(
    editor, committed, smtp, celery_worker
):
    campaign_id = make_campaign(committed, "Trains and Time", dek="Preview line.").id
    committed.commit()
    page = f"/admin/campaigns/{campaign_id}"
    preview = editor.get(f"{page}/preview.eml").data
    answer = post_form(editor, f"{page}/test", page, addresses="Tess@Example.org, b@example.net")
    assert answer.status_code == 303
    received = smtp.wait_for(2)
    assert sorted(r for m in received for r in m.rcpt_tos) == ["Tess@example.org", "b@example.net"]
    tess = next(m for m in received if m.rcpt_tos == ("Tess@example.org",))
    expected = personal_parts(preview, SAMPLE_EMAIL, "Hi Ann Reader,")
    got = personal_parts(tess.data, "Tess@example.org", "Hello,")
    assert got.pop("subject") == "[Test] Trains and Time"
    assert expected.pop("subject") == "Trains and Time"
    assert got == expected
    deadline = time.monotonic() + 20
    while not (report := stored_test_report(committed, campaign_id)):
        assert time.monotonic() < deadline, "the worker kept no report of the test"
        time.sleep(0.2)
    assert [(r["address"], r["ok"]) for r in report["results"]] == [
        ("Tess@example.org", True), ("b@example.net", True),
    ]  # fmt: skip
    assert report["by"] == "editor@example.org"
    deliveries = committed.scalar(select(func.count()).select_from(Delivery))
    committed.rollback()
    assert deliveries == 0, "a test is never written to the ledger"
