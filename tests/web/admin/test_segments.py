"""The admin's Segments page: segments listed with their rules in plain words (counted only
when asked), made and changed from a form that counts before saving (errors by their field),
each one's count and "why is this reader in it?", removed after a confirmation that names
the campaigns waiting with it; a new campaign can go to one. Operators only read."""

from __future__ import annotations

from sqlalchemy import func, select

from broadsheet.models import Campaign, Segment
from broadsheet.services import newsletters, segments, subscriptions
from tests.support.admin import csrf_token, sign_in
from tests.support.factories import make_article, make_campaign, make_user


def readers(db) -> None:
    """Ann (weekly, donor), Bob (weekly, donor and press), Cy (daily, donor), Di (weekly,
    pending)."""
    newsletters.create_newsletter(db, "Weekly")
    newsletters.create_newsletter(db, "Daily")
    for email, tags, chosen, status in (
        ("ann@example.org", ["donor"], "weekly", "active"),
        ("bob@example.org", ["donor", "press"], "weekly", "active"),
        ("cy@example.org", ["donor"], "daily", "active"),
        ("di@example.org", ["donor"], "weekly", "pending"),
    ):
        subscriptions.create_subscriber(
            db, email, status=status, tags=tags, newsletters_chosen=[chosen]
        )
    db.commit()


def post(client, url: str, **fields):
    token = csrf_token(client, "/admin/segments")
    return client.post(url, data={"csrf_token": token, **fields})


DONORS = {"name": "Weekly donors", "newsletters": "weekly", "tags_any": "Donor",
          "exclude_tags": "press"}  # fmt: skip


def test_an_editor_counts_before_saving_then_saves_a_segment(app, committed, editor):
    readers(committed)
    preview = post(editor, "/admin/segments", **DONORS, preview="yes")
    html = preview.get_data(as_text=True)
    assert (
        preview.status_code == 200 and "These rules hold <strong>1</strong> active reader" in html
    )
    assert committed.scalar(select(func.count()).select_from(Segment)) == 0
    assert 'value="Weekly donors"' in html, "the form keeps what was typed"
    saved = post(editor, "/admin/segments", **DONORS)
    assert saved.status_code == 303
    segment = committed.scalars(select(Segment)).one()
    assert segment.rules["tags_any"] == ["donor"]
    page = editor.get(saved.headers["Location"]).get_data(as_text=True)
    assert 'class="segment-count">1<' in page
    assert "subscribed to Weekly" in page and "tagged donor" in page and "not tagged press" in page
    listed = editor.get("/admin/segments").get_data(as_text=True)
    assert "Weekly donors" in listed and "not tagged press" in listed
    assert f'data-count-url="/admin/segments/{segment.id}/count"' in listed
    counted = editor.get(f"/admin/segments/{segment.id}/count").get_json()
    assert counted == {"count": 1, "text": "1 reader"}


def test_a_bad_segment_form_names_each_field(app, committed, editor):
    readers(committed)
    refused = post(
        editor, "/admin/segments", name="", tags_any="ok, !bad", signed_up_after="2026-13-40",
    )  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="signed_up_after-error"' in html and 'id="tags_any-error"' in html
    assert 'value="2026-13-40"' in html
    refused = post(
        editor, "/admin/segments", name="", tags_any="ok, !bad", engaged_in_last="0",
        newsletters="gone", preview="yes",
    )  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="tags_any-error"' in html and 'value="ok, !bad"' in html
    refused = post(editor, "/admin/segments", name="", engaged_in_last="0")
    html = refused.get_data(as_text=True)
    assert 'id="name-error"' in html and 'id="engaged_in_last-error"' in html
    nothing = post(editor, "/admin/segments", name="Everyone")
    assert nothing.status_code == 422 and "at least one rule" in nothing.get_data(as_text=True)
    segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    committed.commit()
    taken = post(editor, "/admin/segments", name="Donors", tags_any="press")
    assert taken.status_code == 409 and 'id="name-error"' in taken.get_data(as_text=True)


def test_an_editor_changes_a_segment_from_its_rules_as_kept(app, committed, editor):
    readers(committed)
    segment = segments.create_segment(
        committed, "Donors", {"newsletters": ["weekly"], "tags_any": ["donor"],
                              "signed_up_after": "2020-01-01T00:00:00+00:00"},
    )  # fmt: skip
    committed.commit()
    form = editor.get(f"/admin/segments/{segment.id}/edit").get_data(as_text=True)
    assert 'value="weekly" checked' in form and 'value="donor"' in form
    assert 'value="2020-01-01"' in form
    saved = post(editor, f"/admin/segments/{segment.id}", name="Press", tags_any="press")
    assert saved.status_code == 303
    committed.expire_all()
    assert segment.name == "Press" and segment.rules == {"tags_any": ["press"]}


def test_why_is_this_reader_in_it(app, committed, editor):
    readers(committed)
    segment = segments.create_segment(
        committed, "Weekly donors", {"newsletters": ["weekly"], "exclude_tags": ["press"]}
    )
    committed.commit()
    url = f"/admin/segments/{segment.id}"
    ann = editor.get(url, query_string={"email": "ANN@example.org"}).get_data(as_text=True)
    assert "is in “Weekly donors”: they meet every rule" in ann
    bob = editor.get(url, query_string={"email": "bob@example.org"}).get_data(as_text=True)
    assert "is not in “Weekly donors”: 1 of its 3 rules is not met" in bob
    assert '<span class="unmet">✗ No</span>: not tagged press' in bob
    di = editor.get(url, query_string={"email": "di@example.org"}).get_data(as_text=True)
    assert "(they are pending)" in di
    nobody = editor.get(url, query_string={"email": "nobody@example.org"})
    assert nobody.status_code == 422
    assert 'id="email-error"' in nobody.get_data(as_text=True)
    assert editor.get(url, query_string={"email": "not an address"}).status_code == 422


def test_a_draft_follows_its_segment_which_is_not_removed_while_it_waits(app, committed, editor):
    readers(committed)
    segment = segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    article = make_article(committed, "Spring appeal")
    committed.commit()
    made = post(
        editor, "/admin/campaigns", article_id=str(article.id), subject="Spring appeal",
        newsletters=["weekly", "daily"], segment="Donors", tracking="off",
    )  # fmt: skip
    assert made.status_code == 303
    campaign = committed.scalars(select(Campaign)).one()
    assert campaign.segment_id == segment.id and set(campaign.audience_rules) == {"newsletters"}
    draft = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "It would go to <strong>3</strong> readers now" in draft  # Ann, Bob, Cy
    assert "in the segment “Donors” as it is when the send starts" in draft
    segments.update_segment(
        committed, segment.id, "Donors", {"tags_any": ["donor"], "exclude_tags": ["press"]}
    )
    committed.commit()
    draft = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "It would go to <strong>2</strong> readers now" in draft  # Bob is press
    page = editor.get(f"/admin/segments/{segment.id}").get_data(as_text=True)
    assert "Campaigns waiting to go to it" in page and "Spring appeal" in page
    for fields in ({}, {"confirm": "yes"}):
        refused = post(editor, f"/admin/segments/{segment.id}/delete", **fields)
        html = " ".join(refused.get_data(as_text=True).split())
        assert refused.status_code == 409 and 'id="remove-error"' in html
        assert f"cannot be removed while campaign {campaign.id} (“Spring appeal”) goes" in html
    committed.expire_all()
    assert committed.scalar(select(func.count()).select_from(Segment)) == 1


def test_a_segment_no_campaign_waits_on_is_removed_after_a_confirmation(app, committed, editor):
    readers(committed)
    segment = segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    committed.commit()
    asked = post(editor, f"/admin/segments/{segment.id}/delete")
    assert asked.status_code == 200 and "Remove the segment “Donors”?" in asked.get_data(
        as_text=True
    )
    done = post(editor, f"/admin/segments/{segment.id}/delete", confirm="yes")
    assert done.status_code == 303
    committed.expire_all()
    assert committed.scalar(select(func.count()).select_from(Segment)) == 0


def test_the_campaign_form_takes_newsletters_and_a_segment_counted_as_chosen(
    app, committed, editor
):
    readers(committed)
    segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    article = make_article(committed, "Spring appeal")
    committed.commit()
    form = editor.get("/admin/campaigns/new").get_data(as_text=True)
    assert 'name="newsletters" value="weekly"' in form and '<option value="Donors">' in form
    counted = editor.get("/admin/campaigns/audience-count?newsletters=weekly&segment=Donors")
    assert counted.get_json()["count"] == 2  # Ann and Bob; Di is pending
    unknown = editor.get("/admin/campaigns/audience-count?newsletters=nope&segment=Gone")
    assert unknown.status_code == 422 and set(unknown.get_json()["errors"]) == {
        "newsletters",
        "segment",
    }
    gone = post(
        editor, "/admin/campaigns", article_id=str(article.id), newsletters=["weekly", "nope"],
        segment="Gone", tracking="off",
    )  # fmt: skip
    html = gone.get_data(as_text=True)
    assert gone.status_code == 422 and 'id="segment-error"' in html
    assert 'id="newsletters-error"' in html and "such newsletter: &#39;nope&#39;" in html
    assert 'value="weekly" checked' in html, "the form keeps what was ticked"
    assert committed.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_drafts_audience_is_changed_on_its_page(app, committed, editor):
    readers(committed)
    segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    campaign = make_campaign(committed)
    committed.commit()
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'name="audience_fields" value="yes"' in page
    bad = post(
        editor, f"/admin/campaigns/{campaign.id}/edit", subject="", preheader="",
        audience_fields="yes", segment="Gone",
    )  # fmt: skip
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="subject-error"' in html and 'id="segment-error"' in html
    saved = post(
        editor, f"/admin/campaigns/{campaign.id}/edit", subject="Appeal", preheader="",
        audience_fields="yes", newsletters=["daily"], segment="Donors",
    )  # fmt: skip
    assert saved.status_code == 303
    committed.expire_all()
    changed = committed.get(Campaign, campaign.id)
    assert changed.subject == "Appeal" and changed.segment is not None
    assert changed.audience_rules == {"newsletters": [changed.audience_rules["newsletters"][0]]}
    draft = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "It would go to <strong>1</strong> readers now" in draft  # Cy
    assert 'value="daily" checked' in draft and '<option value="Donors" selected>' in draft


def test_an_operator_reads_segments_and_asks_why_but_changes_nothing(app, committed):
    readers(committed)
    segment = segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    make_campaign(committed)
    make_user(committed, "operator")
    committed.commit()
    client = app.test_client()
    sign_in(client, "operator@example.org")
    listed = client.get("/admin/segments").get_data(as_text=True)
    assert "Donors" in listed and "New segment" not in listed
    page = client.get(f"/admin/segments/{segment.id}", query_string={"email": "ann@example.org"})
    assert page.status_code == 200 and "they meet every rule" in page.get_data(as_text=True)
    assert "Remove the segment" not in page.get_data(as_text=True)
    assert client.get("/admin/segments/new").status_code == 403
    assert client.get(f"/admin/segments/{segment.id}/edit").status_code == 403
    for url in ("/admin/segments", f"/admin/segments/{segment.id}/delete"):
        answer = post(client, url, name="Ops", tags_any="x", confirm="yes")
        assert answer.status_code == 403, url
    assert committed.scalar(select(func.count()).select_from(Segment)) == 1


def test_attribute_and_never_engaged_rules_from_the_form_to_the_explanation(app, committed, editor):
    for email, attributes in (("ann@example.org", {"city": "Lyon", "plan": "pro"}),
                              ("bob@example.org", {"city": "Lyon", "phone": "555"}),
                              ("cy@example.org", {"city": "Paris", "plan": "pro"})):  # fmt: skip
        subscriptions.create_subscriber(committed, email, status="active", attributes=attributes)
    committed.commit()
    fields = {"name": "Lyon, no phone", "attributes": "city = Lyon\nphone = null",
              "has_attributes": "plan", "never_engaged": "yes"}  # fmt: skip
    preview = post(editor, "/admin/segments", **fields, preview="yes").get_data(as_text=True)
    assert "These rules hold <strong>1</strong> active reader" in preview
    saved = post(editor, "/admin/segments", **fields)
    assert saved.status_code == 303
    segment = committed.scalars(select(Segment)).one()
    assert segment.rules == {
        "attributes": {"city": "Lyon", "phone": None},
        "has_attributes": ["plan"],
        "never_engaged": True,
    }
    page = editor.get(saved.headers["Location"]).get_data(as_text=True)
    assert "with city = Lyon and no phone" in page and "with a value for plan" in page
    assert "never opened or clicked any campaign" in page
    form = editor.get(f"/admin/segments/{segment.id}/edit").get_data(as_text=True)
    assert "city = Lyon\nphone = null</textarea>" in form and 'value="plan"' in form
    assert 'name="never_engaged" value="yes" checked' in form
    url = f"/admin/segments/{segment.id}"
    bob = editor.get(url, query_string={"email": "bob@example.org"}).get_data(as_text=True)
    assert '<span class="unmet">✗ No</span>: with city = Lyon and no phone' in bob
    assert '<span class="unmet">✗ No</span>: with a value for plan' in bob
    assert "2 of its 4 rules are not met" in bob
    ann = editor.get(url, query_string={"email": "ann@example.org"}).get_data(as_text=True)
    assert "they meet every rule" in ann and "never opened or clicked any campaign" in ann


def test_bad_attribute_rules_are_named_next_to_their_field(app, committed, editor):
    refused = post(editor, "/admin/segments", name="Bad", attributes="city Lyon")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="attributes-error"' in html and "Line 1 has no “=”" in html
    assert "city Lyon</textarea>" in html, "the box keeps what was typed"
    refused = post(
        editor, "/admin/segments", name="Bad", attributes="bio = " + "x" * 501,
        has_attributes="plan, two words",
    )  # fmt: skip
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "The attribute bio must be at most 500 characters" in html
    assert 'id="has_attributes-error"' in html and "is not an attribute name" in html
