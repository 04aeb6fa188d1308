"""The pixel and the click redirect: what they answer, and the one line each hit leaves in
Redis for the worker (its verdict made, nothing of the agent or address kept)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from broadsheet.services.campaigns import prepare
from broadsheet.tracking.hits import HITS_KEY, decode_hit
from broadsheet.tracking.tokens import make_tracking_token, tracking_key
from tests.support.engagement import tracked_message
from tests.support.factories import campaign_in

FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}


@pytest.fixture
def sent(committed, settings):
    """A sending campaign with two links, one reader's delivery and that message's token,
    made an hour ago (clicks are not 'too soon')."""
    return tracked_message(committed, settings)


def hits(stack):
    return [decode_hit(raw) for raw in stack["redis"].client().lrange(HITS_KEY, 0, -1)]


def test_the_campaign_keeps_its_links_in_order(sent):
    campaign, _, _ = sent
    assert campaign.tracking_links == ["https://example.com/report", "https://example.com/data.csv"]


def test_pixel_is_a_transparent_gif_never_cached(client, sent, stack):
    campaign, delivery, token = sent
    answer = client.get(f"/t/{token}.gif", headers=FIREFOX)
    assert answer.status_code == 200 and answer.mimetype == "image/gif"
    assert len(answer.data) == 43 and answer.data.startswith(b"GIF89a")
    assert "no-store" in answer.headers["Cache-Control"]
    [hit] = hits(stack)
    assert (hit.kind, hit.campaign_id, hit.delivery_id, hit.link_index) == (
        "open", campaign.id, delivery.id, None,
    )  # fmt: skip
    assert (hit.human, hit.reason) == (True, "client")


def test_a_bare_agent_open_is_a_machine_and_a_bad_token_gets_the_gif_unrecorded(
    client, sent, stack
):
    _, _, token = sent
    client.get(f"/t/{token}.gif", headers={"User-Agent": "Mozilla/5.0"})
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    answer = client.get(f"/t/{forged}.gif", headers=FIREFOX)
    assert answer.status_code == 200 and answer.mimetype == "image/gif"
    assert [(h.human, h.reason) for h in hits(stack)] == [(False, "bare-agent")]


def test_a_click_redirects_to_the_campaigns_link(client, sent, stack):
    _, delivery, token = sent
    answer = client.get(f"/t/{token}/1", headers=FIREFOX)
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://example.com/data.csv"
    [hit] = hits(stack)
    assert (hit.kind, hit.delivery_id, hit.link_index, hit.human) == ("click", delivery.id, 1, True)


def test_head_redirects_but_is_never_an_open_or_a_click(client, sent, stack):
    _, _, token = sent
    assert client.head(f"/t/{token}/0", headers=FIREFOX).status_code == 302
    assert client.head(f"/t/{token}.gif", headers=FIREFOX).status_code == 200
    assert hits(stack) == []


def test_the_honeypot_leads_home_as_a_machine(client, sent, stack, settings):
    _, _, token = sent
    answer = client.get(f"/t/{token}/2", headers=FIREFOX)
    assert answer.status_code == 302 and answer.headers["Location"] == f"{settings.public_url}/"
    assert [(h.human, h.reason) for h in hits(stack)] == [(False, "honeypot")]


@pytest.mark.parametrize("position", [0, 9, 20, 31])
def test_a_tampered_link_never_redirects(client, sent, stack, position):
    _, _, token = sent
    changed = "A" if token[position] != "A" else "B"
    tampered = token[:position] + changed + token[position + 1 :]
    answer = client.get(f"/t/{tampered}/0", headers=FIREFOX)
    assert answer.status_code == 400 and "Location" not in answer.headers
    assert hits(stack) == []


def test_an_index_the_campaign_has_no_link_at_is_a_404(client, sent, stack):
    _, _, token = sent
    for index in (3, 99, 10**12):
        answer = client.get(f"/t/{token}/{index}", headers=FIREFOX)
        assert answer.status_code == 404 and "Location" not in answer.headers
    assert client.get(f"/t/{token}/-1", headers=FIREFOX).status_code == 404
    assert hits(stack) == []


def test_a_token_for_another_campaign_leads_only_to_that_campaigns_links(
    client, committed, sent, settings
):
    other = campaign_in(committed, "sending", "Unlinked")  # its HTML links nowhere outside
    prepare(committed, other, settings)
    committed.commit()
    token = make_tracking_token(tracking_key(settings.secret_key), 1, other.id, 0)
    assert other.tracking_links == []
    assert client.get(f"/t/{token}/0", headers=FIREFOX).status_code == 302  # the honeypot
    assert client.get(f"/t/{token}/1", headers=FIREFOX).status_code == 404


def test_tracking_off_redirects_old_links_and_counts_nothing(app, client, sent, stack):
    from dataclasses import replace

    _, _, token = sent
    app.config["BROADSHEET"] = replace(app.config["BROADSHEET"], tracking=False)
    assert client.get(f"/t/{token}/0", headers=FIREFOX).status_code == 302
    assert client.get(f"/t/{token}.gif", headers=FIREFOX).status_code == 200
    assert hits(stack) == []


def test_a_forged_token_is_answered_without_a_database_statement(app, client, sent, stack):
    _, _, token = sent
    forged = token[:9] + ("A" if token[9] != "A" else "B") + token[10:]
    statements: list[str] = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    # Where every request's session runs its statements (here the test's own connection).
    engine = app.extensions["broadsheet.sessions"].kw["bind"]
    event.listen(engine, "before_cursor_execute", seen)
    try:
        pixel = client.get(f"/t/{forged}.gif", headers=FIREFOX)
        click = client.get(f"/t/{forged}/0", headers=FIREFOX)
        bare = client.get(f"/t/{forged}/1", headers={"User-Agent": "Mozilla/5.0"})
        assert statements == [], statements
        # The listener does see the app's statements: a good token's first click reads the
        # campaign's links (then keeps them).
        assert client.get(f"/t/{token}/0", headers=FIREFOX).status_code == 302
        assert any("tracking_links" in statement for statement in statements)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert pixel.status_code == 200 and pixel.mimetype == "image/gif"
    assert (click.status_code, bare.status_code) == (400, 400)
    assert click.get_data(as_text=True).startswith("This link is not valid")
    assert "Location" not in click.headers and "Location" not in bare.headers
    assert len(hits(stack)) == 1  # the good click's, none of the forgeries'
