"""No one is shown what they cannot use: for each role, every form an admin page holds can be
sent (its own values, sent as a browser would, are never refused with 403), every link it
offers opens, and a page that is only a form refuses up front whoever cannot send it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from broadsheet.models import Subscriber
from broadsheet.services.api_tokens import create_token
from tests.support.admin import csrf_token, forms_and_links, sign_in
from tests.support.factories import add_readers, campaign_in, make_article, make_user

STATES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")


def campaign_page(state: str, made: dict[str, int]) -> str:
    return f"/admin/campaigns/{made[state]}"


# Each page with forms (or a link to one), its address made from the ids of `made`.
PAGES: dict[str, Callable[[dict[str, int]], str]] = {
    "home": lambda made: "/admin/",
    "articles": lambda made: "/admin/articles",
    "article-new": lambda made: "/admin/articles/new",
    "article": lambda made: f"/admin/articles/{made['article']}",
    "campaigns": lambda made: "/admin/campaigns",
    "campaign-new": lambda made: f"/admin/campaigns/new?article={made['article']}",
    **{f"campaign-{state}": partial(campaign_page, state) for state in STATES},
    "subscribers": lambda made: "/admin/subscribers",
    "subscriber-new": lambda made: "/admin/subscribers/new",
    "subscriber": lambda made: f"/admin/subscribers/{made['reader']}",
    "newsletters": lambda made: "/admin/newsletters",
    "people": lambda made: "/admin/users",
    "tokens": lambda made: "/admin/tokens",
}
# What each role is refused at the door: pages that are only a form it may not send, and the
# sections it may not open.
REFUSED = {
    "admin": set(),
    "editor": {"people", "tokens"},
    "operator": {"article-new", "campaign-new", "subscriber-new", "people", "tokens"},
}
# Pages on which each role is offered forms it may send (so the check has something to do).
WRITING = {"article-new", "article", "campaign-new", "subscriber-new", "subscriber", "newsletters"}
CAMPAIGNS = {f"campaign-{state}" for state in ("draft", "scheduled", "sending", "paused")}
OFFERED = {
    "admin": WRITING | CAMPAIGNS | {"people", "tokens"},
    "editor": WRITING | CAMPAIGNS,
    "operator": {"campaign-sending"},  # pause
}
SIGN_OUT = "/admin/logout"


def made_for_every_page(committed: Session) -> dict[str, int]:
    """An article, a campaign in every state, a reader and a token, committed."""
    add_readers(committed, 3)
    made = {state: campaign_in(committed, state, f"The {state} one").id for state in STATES}
    made["article"] = make_article(committed, "On Clocks").id
    create_token(committed, "CMS publisher", "editor")
    committed.commit()
    reader = committed.scalar(select(Subscriber.id).order_by(Subscriber.id))
    assert reader is not None
    made["reader"] = reader
    committed.rollback()  # on SQLite an open read holds the write lock the app needs
    return made


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", REFUSED)
def test_a_page_shows_only_forms_and_links_its_reader_may_use(app, committed, role, page):
    made = made_for_every_page(committed)
    make_user(committed, role)
    client = app.test_client()
    sign_in(client, f"{role}@example.org")
    url = PAGES[page](made)
    answer = client.get(url)
    if page in REFUSED[role]:
        assert answer.status_code == 403, f"{role} is shown {page} instead of being refused"
        return
    assert answer.status_code == 200, (page, answer.status_code)
    forms, links = forms_and_links(answer.get_data(as_text=True), url)
    posted = [f for f in forms if f.method == "post" and f.action != SIGN_OUT]
    shown = [f.action for f in posted if f.shown]
    assert bool(shown) == (page in OFFERED[role]), (role, page, shown)
    for form in posted:  # those the page's script may show later too
        sent = client.post(form.action, data=MultiDict(form.fields))
        assert sent.status_code != 403, f"{role} is shown a form on {page} it cannot send: {form}"
    token = csrf_token(client, "/admin/")
    assert token  # still signed in: no form sent above signed them out
    for link in dict.fromkeys(links):
        if link.startswith("/admin/") and not link.startswith("/admin/static/"):
            opened = client.get(link)
            assert opened.status_code != 403, f"{role} is offered {link} on {page}: refused"
