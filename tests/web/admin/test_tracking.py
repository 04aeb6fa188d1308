"""A campaign's open and click tracking in the admin: chosen on the new-campaign form,
switched on the campaign page while it is a draft, fixed once it has started."""

from __future__ import annotations

from broadsheet.models import Campaign
from tests.support.admin import post_form
from tests.support.factories import campaign_in, make_article


def tracking_of(committed, campaign_id: int) -> bool:
    committed.expire_all()
    return bool(committed.get(Campaign, campaign_id).tracking)


def test_the_new_campaign_form_offers_tracking_on_by_default(editor, committed):
    article = make_article(committed, "On Clocks")
    committed.commit()
    form = editor.get(f"/admin/campaigns/new?article={article.id}").get_data(as_text=True)
    assert 'id="tracking"' in form and '<option value="on" selected>' in form
    answer = post_form(
        editor, "/admin/campaigns", "/admin/campaigns/new", article_id=str(article.id),
        subject="", preheader="", audience="everyone", tracking="off",
    )  # fmt: skip
    assert answer.status_code == 303
    campaign_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert tracking_of(committed, campaign_id) is False
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Not counted: the messages have no pixel" in page


def test_a_bad_choice_is_refused_by_its_field(editor, committed):
    article = make_article(committed, "On Clocks")
    committed.commit()
    answer = post_form(
        editor, "/admin/campaigns", "/admin/campaigns/new", article_id=str(article.id),
        subject="", preheader="", audience="everyone", tracking="maybe",
    )  # fmt: skip
    assert answer.status_code == 422
    assert 'id="tracking-error"' in answer.get_data(as_text=True)


def test_the_switch_works_on_a_draft_and_not_once_started(editor, committed):
    draft = campaign_in(committed, "draft")
    page = f"/admin/campaigns/{draft.id}"
    answer = post_form(editor, f"{page}/tracking", page, tracking="off")
    assert answer.status_code == 303 and tracking_of(committed, draft.id) is False
    assert "will not be counted" in editor.get(page).get_data(as_text=True)
    sending = campaign_in(committed, "sending", "Later")
    page = f"/admin/campaigns/{sending.id}"
    assert f'action="/admin/campaigns/{sending.id}/tracking"' not in editor.get(page).get_data(
        as_text=True
    )
    answer = post_form(editor, f"{page}/tracking", f"/admin/campaigns/{draft.id}", tracking="off")
    assert answer.status_code == 303 and tracking_of(committed, sending.id) is True
    assert "its tracking is fixed" in editor.get(page).get_data(as_text=True)
    bad = post_form(editor, f"/admin/campaigns/{draft.id}/tracking", page, tracking="perhaps")
    assert bad.status_code == 422
