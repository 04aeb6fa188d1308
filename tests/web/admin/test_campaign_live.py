"""The campaign page's live parts and its deliveries lists, through the test client: every
role reads them, each count and failure group links to its list, the poll carries the parts
to swap in, and a bad filter is a 422 naming its field."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from broadsheet.models import utcnow
from broadsheet.services import failures, samples
from broadsheet.services.campaigns import start_send
from tests.support.admin import sign_in
from tests.support.factories import make_campaign, make_user
from tests.support.live import mixed_campaign


@pytest.fixture
def sampled(committed) -> int:
    """A sending campaign with mixed outcomes and two samples 20 s apart."""
    campaign_id = mixed_campaign(committed)
    now = utcnow()
    samples.take_samples(committed, now - timedelta(seconds=20))
    samples.take_samples(committed, now)
    committed.commit()
    return campaign_id


@pytest.mark.parametrize("role", ["operator", "editor", "admin"])
def test_every_role_reads_the_live_page_and_its_deliveries(app, committed, sampled, role):
    make_user(committed, role)
    client = app.test_client()
    sign_in(client, f"{role}@example.org")
    page = unescape(client.get(f"/admin/campaigns/{sampled}").get_data(as_text=True))
    assert "Throughput over the send" in page and "Estimated finish" in page
    assert f"/admin/campaigns/{sampled}/deliveries?status=failed" in page
    assert f"/admin/campaigns/{sampled}/deliveries?status=failures&domain=refusing.test" in page
    assert "550 5.7.1 &lt;x@refusing.test&gt;: we refuse" in client.get(
        f"/admin/campaigns/{sampled}/deliveries?status=failures&domain=refusing.test"
    ).get_data(as_text=True)


def test_the_poll_carries_the_live_parts_to_swap_in(editor, sampled):
    answer = editor.get(f"/admin/campaigns/{sampled}/progress").get_json()
    assert set(answer["fragments"]) == {"pace", "chart", "failures", "rates"}
    assert "<svg" in answer["fragments"]["chart"]
    assert "refusing.test" in answer["fragments"]["failures"]
    assert "Relay" in answer["fragments"]["rates"]
    lean = editor.get(f"/admin/campaigns/{sampled}/progress?fragments=0").get_json()
    assert lean["fragments"] == {} and lean["counts"]["failed"] == 4


def test_the_rest_of_the_failures_is_summed_not_linked_as_if_it_were_a_group(
    editor, sampled, monkeypatch
):
    monkeypatch.setattr(failures, "TOP_DOMAINS", 0)  # every domain is in "the rest"
    page = unescape(editor.get(f"/admin/campaigns/{sampled}").get_data(as_text=True))
    rest = page.split("The rest (", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num" data-label="Deliveries" data-rest>6</td>' in rest
    assert f'among <a href="/admin/campaigns/{sampled}/deliveries?status=failures">all' in rest


def test_the_deliveries_list_pages_on_from_the_last_row(editor, sampled):
    first = editor.get(f"/admin/campaigns/{sampled}/deliveries?status=failures&limit=4")
    html = unescape(first.get_data(as_text=True))
    assert html.count('class="status"') == 4 and "Next →" in html
    after = html.split("after=")[1].split('"')[0]
    rest = editor.get(
        f"/admin/campaigns/{sampled}/deliveries?status=failures&limit=4&after={after}"
    )
    assert rest.get_data(as_text=True).count('class="status"') == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=lost", "status"),
        ("after=-3", "after"),
        ("after=abc", "after"),
        ("limit=0", "limit"),
        ("domain=a@b", "domain"),
    ],
)
def test_a_bad_filter_is_a_422_naming_the_field(editor, sampled, query, field):
    answer = editor.get(f"/admin/campaigns/{sampled}/deliveries?{query}")
    assert answer.status_code == 422
    assert f"{field}: must" in answer.get_data(as_text=True).lower()


def test_a_send_not_yet_planned_has_no_estimated_finish(editor, committed):
    campaign = start_send(committed, make_campaign(committed, "Not Planned Yet").id)
    committed.commit()
    pace = editor.get(f"/admin/campaigns/{campaign.id}/progress").get_json()["fragments"]["pace"]
    finish = pace.split('data-pace="finish">', 1)[1].split("</dd>", 1)[0]
    assert finish == "—", "no rows yet is not done: nothing to estimate from"
