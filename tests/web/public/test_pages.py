"""Reader pages through the Flask test client with real commits: signup and its refusals,
double opt-in, link tokens, one-click unsubscribe, the archive, and odd input."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from broadsheet.models import Campaign, CampaignStatus, Subscriber, SubscriberStatus, utcnow
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, start_send
from broadsheet.services.subscriptions import create_subscriber, unsubscribe
from broadsheet.settings import Settings
from broadsheet.signing import make_confirm_token, make_unsubscribe_token

DAY = 24 * 3600


def csrf_token(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no CSRF token"
    return match.group(1).decode()


def sign_up(client, email: str, name: str = "", client_address: str = "127.0.0.1", **extra: str):
    """Load the form, then post it as a browser at `client_address` would (with the form's
    CSRF token)."""
    token = csrf_token(client.get("/subscribe").data)
    return client.post(
        "/subscribe",
        data={"email": email, "name": name, "csrf_token": token, **extra},
        environ_base={"REMOTE_ADDR": client_address},
    )


def readers(committed: Session) -> dict[str, tuple[Any, ...]]:
    """Committed rows by address key: (id, status, name, confirmed_at). The read transaction
    ends at once: on SQLite an open one would hold the write lock the app needs."""
    try:
        rows = committed.execute(
            select(
                Subscriber.email_key,
                Subscriber.id,
                Subscriber.status,
                Subscriber.name,
                Subscriber.confirmed_at,
            )
        )
        return {key: (sid, status, name, confirmed) for key, sid, status, name, confirmed in rows}
    finally:
        committed.rollback()


@dataclass(frozen=True)
class Reader:
    """Plain values, not the ORM row: touching an expired row would reopen a transaction."""

    id: int
    email_key: str


def add_reader(committed: Session, email: str, status: str = "pending") -> Reader:
    """A committed reader in any status, made the way the product makes them."""
    reader = create_subscriber(
        committed, email, status="active" if status != "pending" else "pending"
    )
    if status == "unsubscribed":
        unsubscribe(committed, reader.id)
    elif status == "bounced":
        reader.status = SubscriberStatus.BOUNCED
    elif status == "pending":
        reader.confirmation_sent_at = utcnow()  # mailed a moment ago: no resend is owed yet
    committed.commit()
    return Reader(reader.id, reader.email_key)


def confirm_token(settings: Settings, reader: Reader, age: int = 0) -> str:
    """The reader's real confirmation token, signed `age` seconds in the past."""
    with pytest.MonkeyPatch.context() as patch:
        past = int(time.time()) - age
        patch.setattr(TimestampSigner, "get_timestamp", lambda _signer: past)
        return make_confirm_token(settings.secret_key, reader.id, reader.email_key)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


# Every page is a complete, accessible, self-contained HTML document.
@pytest.mark.parametrize(
    "path",
    [
        "/subscribe", "/no/such/page", "/confirm/not-a-token", "/unsubscribe/not-a-token",
        "/archive", "/archive?before=abc", "/archive?newsletter=nope",
    ],
)  # fmt: skip
def test_pages_are_accessible_self_contained_documents(client, path):
    page = text(client.get(path))
    assert re.search(r'<html lang="en">', page)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert page.count("<main") == 1 and page.count("<h1") == 1
    assert re.search(r"<title>[^<]+ · The Test Gazette</title>", page)
    assert '<link rel="stylesheet" href="/static/site.css">' in page
    external = re.findall(r'<(?:link|script|img|iframe)[^>]+(?:src|href)="(?:https?:)?//', page)
    assert not external, "pages load nothing from other hosts"
    with client.get("/static/site.css") as css:  # a file response: close it
        assert css.status_code == 200 and "@import" not in text(css) and "url(" not in text(css)


def test_new_signup_is_pending_and_owed_one_confirmation(client, committed, owed):
    answer = sign_up(client, "New.Reader@Example.org", "New Reader")
    assert answer.status_code == 200
    assert "Check your inbox" in text(answer)
    ((key, (sid, status, name, _)),) = readers(committed).items()
    assert (key, status, name) == ("new.reader@example.org", "pending", "New Reader")
    assert owed() == [sid]


def test_invalid_address_shows_the_form_again_with_the_error_and_the_escaped_values(
    client, committed, owed
):
    answer = sign_up(client, "<b>reader</b>.example.org", '"><script>alert(1)</script>')
    page = text(answer)
    assert answer.status_code == 400
    assert re.search(r'<p class="error" id="email-error">There can&#39;t be anything after', page)
    assert re.search(r'<input id="email"[^>]* aria-invalid="true" aria-describedby="email-error"',
                     page)  # fmt: skip
    assert 'value="&lt;b&gt;reader&lt;/b&gt;.example.org"' in page
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert "<script>" not in page and "<b>reader" not in page
    assert page.startswith("<!doctype html>") and "<title>Error: Subscribe" in page
    assert readers(committed) == {} and owed() == []


def test_a_name_error_is_shown_and_linked_by_the_name_field(client, committed, owed):
    answer = sign_up(client, "ann@example.org", "N" * 201)
    page = text(answer)
    assert answer.status_code == 400
    assert '<p class="error" id="name-error">Your name must be at most 200 characters.</p>' in page
    assert re.search(r'<input id="name"[^>]* aria-invalid="true" aria-describedby="name-error"',
                     page)  # fmt: skip
    assert not re.search(r'<input id="email"[^>]* aria-invalid', page)
    assert 'value="ann@example.org"' in page
    assert readers(committed) == {} and owed() == []


@pytest.mark.parametrize("token", ["missing", "garbage", "another visitor's"])
def test_a_missing_or_wrong_csrf_token_is_a_clear_400_page(client, app, committed, owed, token):
    client.get("/subscribe")  # this visitor has a session
    data = {"email": "ann@example.org", "name": "Ann"}
    if token == "garbage":
        data["csrf_token"] = "Im5vdCBhIHRva2VuIg.aGVsbG8.d29ybGQ"
    elif token == "another visitor's":
        data["csrf_token"] = csrf_token(app.test_client().get("/subscribe").data)
    answer = client.post("/subscribe", data=data)
    page = text(answer)
    assert answer.status_code == 400
    assert "This form has expired. Please check your details and send it again." in page
    assert 'role="alert"' in page and 'value="ann@example.org"' in page
    assert readers(committed) == {} and owed() == []

    again = client.post("/subscribe", data={**data, "csrf_token": csrf_token(answer.data)})
    assert again.status_code == 200, "the page's fresh token lets the reader send it again"
    assert list(readers(committed)) == ["ann@example.org"]


def test_a_filled_honeypot_gets_the_neutral_answer_and_creates_nobody(client, committed, owed):
    person = sign_up(client, "person@example.org")
    bot = sign_up(client, "bot@example.org", "Bot", website="https://spam.example.com")
    assert bot.status_code == person.status_code == 200
    assert bot.data == person.data, "a bot cannot tell it was caught"
    known = readers(committed)
    assert list(known) == ["person@example.org"]
    assert owed() == [known["person@example.org"][0]]


@pytest.mark.parametrize("status", ["active", "pending", "bounced"])
def test_a_known_address_gets_the_same_answer_as_a_new_one(client, committed, owed, status):
    known = add_reader(committed, "known@example.org", status)
    new = sign_up(client, "new@example.org")
    again = sign_up(client, "Known@EXAMPLE.org", "Someone Else")
    assert again.status_code == new.status_code == 200
    assert again.data == new.data, "the answer never reveals who subscribes"
    rows = readers(committed)
    assert sorted(rows) == ["known@example.org", "new@example.org"], "no second row"
    assert rows["known@example.org"][:3] == (known.id, status, "")
    assert owed() == [rows["new@example.org"][0]], "nobody known is mailed again"


def test_an_unsubscribed_reader_who_signs_up_again_is_pending_and_mailed(client, committed, owed):
    gone = add_reader(committed, "back@example.org", "unsubscribed")
    answer = sign_up(client, "back@example.org", "Back Again")
    assert answer.status_code == 200 and "Check your inbox" in text(answer)
    assert readers(committed)["back@example.org"][:3] == (gone.id, "pending", "Back Again")
    assert owed() == [gone.id]


def test_confirm_get_changes_nothing_and_post_confirms_once(client, committed, settings):
    reader = add_reader(committed, "confirm.me@example.org")
    path = f"/confirm/{confirm_token(settings, reader)}"

    page = client.get(path)
    assert page.status_code == 200
    assert f'<form method="post" action="{path}">' in text(page)
    assert readers(committed)["confirm.me@example.org"][1] == "pending", "a GET changes nothing"

    done = client.post(path)
    assert done.status_code == 200 and "You are subscribed" in text(done)
    _, status, _, confirmed_at = readers(committed)["confirm.me@example.org"]
    assert status == "active" and confirmed_at is not None

    twice = client.post(path)
    assert twice.status_code == 200 and "You are subscribed" in text(twice)
    assert readers(committed)["confirm.me@example.org"][1:] == ("active", "", confirmed_at)


def test_an_old_confirm_link_after_unsubscribing_says_so(client, committed, settings):
    reader = add_reader(committed, "left@example.org", "unsubscribed")
    answer = client.post(f"/confirm/{confirm_token(settings, reader)}")
    assert answer.status_code == 200
    assert "not active" in text(answer) and "You are subscribed" not in text(answer)
    assert readers(committed)["left@example.org"][1] == "unsubscribed"


def wrong_tokens(settings: Settings, reader: Reader) -> dict[str, str]:
    confirm = confirm_token(settings, reader)
    unsub = make_unsubscribe_token(settings.secret_key, reader.id)
    forged = make_confirm_token("someone-elses-secret", reader.id, reader.email_key)
    other = make_confirm_token(settings.secret_key, reader.id + 1, reader.email_key)
    tampered = other.split(".")[0] + confirm[confirm.index(".") :]  # another payload, our seal
    return {
        "unsubscribe token on confirm": f"/confirm/{unsub}",
        "confirm token on unsubscribe": f"/unsubscribe/{confirm}",
        "forged confirm token": f"/confirm/{forged}",
        "forged unsubscribe token": f"/unsubscribe/{forged}",
        "truncated confirm token": f"/confirm/{confirm[:-3]}",
        "tampered confirm token": f"/confirm/{tampered}",
    }


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "case",
    [
        "unsubscribe token on confirm",
        "confirm token on unsubscribe",
        "forged confirm token",
        "forged unsubscribe token",
        "truncated confirm token",
        "tampered confirm token",
    ],
)
def test_forged_or_wrong_purpose_tokens_get_a_400_page(client, committed, settings, method, case):
    reader = add_reader(committed, "target@example.org")
    answer = client.open(wrong_tokens(settings, reader)[case], method=method)
    assert answer.status_code == 400
    assert "This link does not work" in text(answer) and "<main" in text(answer)
    assert readers(committed)["target@example.org"][1] == "pending", "nothing changed"


def test_an_expired_confirmation_link_says_so_and_confirms_nobody(client, committed, settings):
    reader = add_reader(committed, "slow.reader@example.org")
    old = f"/confirm/{confirm_token(settings, reader, age=8 * DAY)}"
    for method in ("GET", "POST"):
        answer = client.open(old, method=method)
        assert answer.status_code == 400
        assert "This link has expired" in text(answer)
        assert "This confirmation link has expired." in text(answer)
    assert readers(committed)["slow.reader@example.org"][1] == "pending"

    recent = f"/confirm/{confirm_token(settings, reader, age=6 * DAY)}"
    assert client.post(recent).status_code == 200, "a six-day-old link still works"
    assert readers(committed)["slow.reader@example.org"][1] == "active"


@pytest.mark.parametrize("campaign_id", [None, 42])
def test_one_click_unsubscribe_without_cookies_or_csrf_answers_200(
    app, committed, settings, campaign_id
):
    reader = add_reader(committed, "leaving@example.org", "active")
    path = f"/unsubscribe/{make_unsubscribe_token(settings.secret_key, reader.id, campaign_id)}"
    mail_client = app.test_client(use_cookies=False)

    page = mail_client.get(path)
    assert page.status_code == 200 and f'action="{path}"' in text(page)
    assert readers(committed)["leaving@example.org"][1] == "active", "a GET changes nothing"

    for _ in range(2):
        answer = mail_client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert answer.status_code == 200 and "Location" not in answer.headers
        assert "You are unsubscribed" in text(answer)
        assert readers(committed)["leaving@example.org"][1] == "unsubscribed"


def make_campaign(committed: Session, title: str) -> tuple[str, int]:
    article = create_article(
        committed,
        title=title,
        dek="Why a weekly rhythm beats the endless feed.",
        author="Ada Columnist",
        body_markdown="First paragraph.\n\n## A heading\n\nSecond paragraph, with *emphasis*.",
        published_at="2026-03-05T09:00:00+00:00",
    )
    campaign = create_campaign(committed, article.id)
    committed.commit()
    return article.slug, campaign.id


def test_the_archive_shows_an_article_only_once_its_campaign_has_started(client, committed):
    slug, campaign_id = make_campaign(committed, "The Case for Slower News")
    never, never_id = make_campaign(committed, "A Draft That Was Dropped")
    committed.get(Campaign, never_id).status = CampaignStatus.CANCELLED
    committed.commit()
    assert client.get(f"/archive/{slug}").status_code == 404, "a draft is not public"
    assert client.get(f"/archive/{never}").status_code == 404, "nor one cancelled unsent"

    start_send(committed, campaign_id)
    committed.commit()
    sending = client.get(f"/archive/{slug}")
    page = text(sending)
    assert sending.status_code == 200
    assert "<title>The Case for Slower News · The Test Gazette</title>" in page
    assert "<h1>The Case for Slower News</h1>" in page
    assert '<p class="dek">Why a weekly rhythm beats the endless feed.</p>' in page
    assert '<span class="author">By Ada Columnist</span>' in page
    assert '<time datetime="2026-03-05T09:00:00+00:00">5 March 2026</time>' in page
    assert "1 min read" in page
    assert "<h2>A heading</h2>" in page and "<em>emphasis</em>" in page

    committed.get(Campaign, campaign_id).status = CampaignStatus.SENT
    committed.commit()
    assert client.get(f"/archive/{slug}").status_code == 200
    assert client.get(f"/archive/{never}").status_code == 404


def test_an_unknown_url_is_a_404_page(client):
    answer = client.get("/no/such/page")
    assert answer.status_code == 404 and answer.mimetype == "text/html"
    assert "<h1>Page not found</h1>" in text(answer)


@pytest.mark.parametrize(
    ("email", "name", "status", "shown"),
    [
        ("a" * 400 + "@example.org", "", 400, "The address is too long."),
        ("ann@example.org\nBcc: eve@example.org", "", 400, "invalid characters"),
        ("ann@example.org\r\nBcc: eve@example.org", "", 400, "invalid characters"),
        ("\x00@example.org", "", 400, "invalid characters"),
        ("", "", 400, "An email address is required."),
        ("   ", "Ann", 400, "An email address is required."),
        ("ann@example.org", "n" * 5000, 400, "at most 200 characters"),
        ("ann@example.org\n", "Ann", 200, "Check your inbox"),
        ("zoë.ñandú@example.org", "Zoë Ñandú 李小龍 🦉", 200, "Check your inbox"),
        ("ann@example.org", "Ann\x00\u202e\r\nBcc: eve@example.org", 200, "Check your inbox"),
    ],
)
def test_odd_signup_input_gets_an_answer_never_a_crash(
    client, committed, owed, email, name, status, shown
):
    answer = sign_up(client, email, name)
    assert answer.status_code == status
    assert shown in text(answer)
    for key, (_, _, stored_name, _) in readers(committed).items():
        assert key == email.strip().lower() and "\n" not in key
        assert stored_name.isprintable() and len(stored_name) <= 200


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "path",
    [
        "/confirm/" + "A" * 5000,
        "/confirm/%00",
        "/confirm/" + quote("ünïcødé.tökén"),
        "/unsubscribe/" + quote("[1]") + ".sig",
        "/unsubscribe/%FF%FE",
        "/archive/" + quote("é" * 300),
        "/archive/%00",
        "/subscribe/" + "x" * 3000,
    ],
)
def test_odd_links_get_a_page_never_a_crash(client, committed, method, path):
    answer = client.open(path, method=method)
    assert answer.status_code in (400, 404, 405)
    assert answer.mimetype == "text/html" and "<main" in text(answer)


def test_a_burst_of_signups_from_one_client_meets_a_429_page(client, committed, owed):
    token = csrf_token(client.get("/subscribe").data)
    answers = [
        client.post("/subscribe", data={"email": f"burst{n}@example.org", "csrf_token": token})
        for n in range(40)  # 40 in well under a minute
    ]
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 20 + [429] * 20
    refused = answers[-1]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    page = text(refused)
    assert "<h1>Too many signups at once</h1>" in page and "please wait" in page
    assert 'href="/static/site.css"' in page, "a reader page like the others"
    assert len(readers(committed)) == 20 and len(owed()) == 20, "the refused made nobody"
    other = sign_up(client, "elsewhere@example.org", client_address="192.0.2.9")
    assert other.status_code == 200, "another client is not held back"


def test_one_address_signed_up_over_and_over_is_limited_whoever_asks(client, committed, owed):
    token = csrf_token(client.get("/subscribe").data)
    statuses = []
    for n in range(8):  # from eight different clients, in any case
        address = "Target@Example.org" if n % 2 else " target@example.org"
        answer = client.post(
            "/subscribe",
            data={"email": address, "csrf_token": token},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"},
        )
        statuses.append(answer.status_code)
    assert statuses == [200] * 5 + [429] * 3
    assert len(owed()) == 1, "one reader, mailed once (a pending reader waits between mails)"
    assert sign_up(client, "someone.else@example.org").status_code == 200
