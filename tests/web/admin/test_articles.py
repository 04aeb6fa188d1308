"""The admin's articles through the test client with real commits: the list (newest first,
searched by title, keyset pages), writing and editing in Markdown, errors by their field with
everything typed kept, the live preview's endpoint, and who may change what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select

from broadsheet.models import Article, Campaign
from broadsheet.services.articles import list_articles
from broadsheet.services.campaigns import prepare, start_send
from tests.support.admin import csrf_token, sign_in
from tests.support.factories import make_article, make_campaign, make_user

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BODY = "Steady *on*.\n\n## The line\n\nIt runs [north](https://example.org/north)."


def article_row(committed, article_id: int) -> dict[str, Any]:
    """The article's columns as committed; the read ends at once (SQLite's write lock)."""
    columns = (Article.title, Article.dek, Article.author, Article.canonical_url,
               Article.published_at, Article.body_html, Article.slug)  # fmt: skip
    try:
        row = committed.execute(select(*columns).where(Article.id == article_id)).one()
        return dict(row._mapping)
    finally:
        committed.rollback()


def titles_on(html: str) -> list[str]:
    return re.findall(r'<a class="title" href="/admin/articles/\d+">([^<]+)</a>', html)


def articles_published(committed, titles: list[str]) -> list[int]:
    """Articles published a day apart in the order given (the last is the newest)."""
    ids = []
    for n, title in enumerate(titles):
        ids.append(
            make_article(committed, title, published_at=(START + timedelta(days=n)).isoformat()).id
        )
    committed.commit()
    return ids


def save(client, url: str, page: str, form: dict[str, str]):
    """Post the article form (its `url` field rules out post_form's keyword arguments)."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **form})


def fields(**changes: str) -> dict[str, str]:
    form = {"title": "On Clocks", "dek": "Why stations have two.", "author": "Ann Writer",
            "url": "https://example.org/clocks", "published_at": "2026-12-03T07:30",
            "timezone": "Europe/Paris", "body_markdown": BODY}  # fmt: skip
    return {**form, **changes}


def test_the_list_shows_the_newest_published_first_and_finds_titles_in_any_case(editor, committed):
    articles_published(committed, ["Old Rails", "Clock Towers", "New Rails"])
    html = editor.get("/admin/articles").get_data(as_text=True)
    assert titles_on(html) == ["New Rails", "Clock Towers", "Old Rails"]
    found = editor.get("/admin/articles?q=rAILS").get_data(as_text=True)
    assert titles_on(found) == ["New Rails", "Old Rails"]
    nothing = editor.get("/admin/articles?q=100%").get_data(as_text=True)
    assert titles_on(nothing) == [] and "No article has" in nothing


def test_the_list_pages_by_keyset_through_every_article_once(editor, committed):
    titles = [f"Issue {n:02}" for n in range(7)]
    ids = articles_published(committed, titles)
    # Two articles published at the same moment are told apart by id.
    same = make_article(
        committed, "Issue 06 bis", published_at=(START + timedelta(days=6)).isoformat()
    )
    committed.commit()
    seen: list[str] = []
    url: str | None = "/admin/articles?limit=3"
    while url:
        html = editor.get(url).get_data(as_text=True)
        seen += titles_on(html)
        older = re.search(r'href="([^"]+)">Older', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == ["Issue 06 bis", *reversed(titles)]
    assert same.id > ids[-1]
    searched = editor.get(f"/admin/articles?q=issue&limit=2&before={ids[3]}").get_data(as_text=True)
    assert titles_on(searched) == ["Issue 02", "Issue 01"]
    assert editor.get("/admin/articles?before=nonsense").status_code == 422


def test_an_editor_writes_an_article_with_its_time_in_their_timezone(editor, committed):
    answer = save(editor, "/admin/articles", "/admin/articles/new", fields())
    assert answer.status_code == 303
    article_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    row = article_row(committed, article_id)
    assert row["title"] == "On Clocks" and row["author"] == "Ann Writer"
    assert row["canonical_url"] == "https://example.org/clocks"
    assert row["published_at"] == datetime(2026, 12, 3, 6, 30, tzinfo=UTC)  # Paris is UTC+1
    assert '<a href="https://example.org/north" rel="noopener">north</a>' in row["body_html"]
    page = editor.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'value="2026-12-03T06:30"' in page and "data-utc" in page  # UTC until the script
    assert f'href="/admin/campaigns/new?article={article_id}"' in page


def test_an_edit_changes_the_article_and_keeps_its_slug_and_untouched_time(editor, committed):
    article = make_article(committed, "On Clocks", published_at="2026-11-02T09:00:42+00:00")
    committed.commit()
    url = f"/admin/articles/{article.id}"
    # 10:00 in Paris is the stored 09:00:42 UTC as the form shows it: the time is unchanged.
    answer = save(
        editor, url, url, fields(title="On Station Clocks", published_at="2026-11-02T10:00")
    )
    assert answer.status_code == 303
    row = article_row(committed, article.id)
    assert row["title"] == "On Station Clocks" and row["slug"] == "on-clocks"
    assert row["published_at"] == datetime(2026, 11, 2, 9, 0, 42, tzinfo=UTC)
    assert "<h2>The line</h2>" in row["body_html"]
    save(editor, url, url, fields(published_at="2026-11-05T12:00", timezone="UTC"))
    assert article_row(committed, article.id)["published_at"] == datetime(
        2026, 11, 5, 12, 0, tzinfo=UTC
    )


def test_a_bad_form_says_why_by_each_field_and_keeps_everything_typed(editor, committed):
    typed = fields(
        title="", url="ftp://example.org/x", published_at="next tuesday",
        author="A" * 201, dek="Kept <as> typed", body_markdown="Kept **body** & all",
    )  # fmt: skip
    answer = save(editor, "/admin/articles", "/admin/articles/new", typed)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for name in ("title", "url", "published_at", "author"):
        assert f'id="{name}-error"' in html, name
    assert 'id="title" name="title" type="text" value=""' in html
    assert 'value="ftp://example.org/x"' in html and 'value="next tuesday"' in html
    assert "Kept &lt;as&gt; typed</textarea>" in html
    assert "Kept **body** &amp; all</textarea>" in html
    assert "<strong>body</strong>" in html  # the preview shows what was typed, too
    assert committed.scalar(select(Article.id)) is None
    committed.rollback()


def test_a_bad_edit_changes_nothing_and_keeps_what_was_typed(editor, committed):
    article = make_article(committed, "On Clocks")
    committed.commit()
    url = f"/admin/articles/{article.id}"
    answer = save(editor, url, url, fields(body_markdown="  ", title="Typed anew"))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="body_markdown-error"' in html and 'value="Typed anew"' in html
    assert article_row(committed, article.id)["title"] == "On Clocks"


def test_an_edit_reaches_campaigns_not_yet_started_but_not_emails_already_sent(
    editor, committed, settings
):
    sent = make_campaign(committed, "On Clocks")
    prepare(committed, sent, settings)
    start_send(committed, sent.id)
    draft = Campaign(article_id=sent.article_id, subject="Again")
    committed.add(draft)
    committed.flush()
    prepare(committed, draft, settings)
    ids = (sent.article_id, sent.id, draft.id)
    committed.commit()
    url = f"/admin/articles/{ids[0]}"
    page = editor.get(url).get_data(as_text=True)
    assert "never the emails already sent" in page
    assert save(editor, url, url, fields()).status_code == 303
    query = select(Campaign.id, Campaign.rendered_html.is_not(None)).order_by(Campaign.id)
    rendered = dict(committed.execute(query).all())
    committed.rollback()
    assert rendered == {ids[1]: True, ids[2]: False}  # the draft renders the new text next


def test_the_preview_renders_through_the_sanitizer_and_needs_the_csrf_header(editor, committed):
    token = csrf_token(editor, "/admin/articles/new")
    source = "Hi **there**<script>alert(1)</script><img src=x onerror=alert(2)>"
    answer = editor.post(
        "/admin/articles/preview", json={"body_markdown": source}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 200
    data = answer.get_json()
    assert "<strong>there</strong>" in data["html"]
    assert "script" not in data["html"] and "onerror" not in data["html"]
    assert data["minutes"] == 1
    refused = editor.post("/admin/articles/preview", json={"body_markdown": "x"})
    assert refused.status_code == 400
    too_long = editor.post(
        "/admin/articles/preview", json={"body_markdown": "x" * 500_001},
        headers={"X-CSRFToken": token},
    )  # fmt: skip
    assert too_long.status_code == 422
    odd = editor.post("/admin/articles/preview", json=[1], headers={"X-CSRFToken": token})
    assert odd.status_code == 200 and odd.get_json()["html"] == ""


def test_an_operator_reads_articles_but_cannot_write_or_preview(app, committed):
    make_user(committed, "operator")
    article = make_article(committed, "On Clocks")
    committed.commit()
    client = app.test_client()
    sign_in(client, "operator@example.org")
    url = f"/admin/articles/{article.id}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Steady on." in html, "the article is there to read"
    assert "<form" not in html.replace('<form method="post" action="/admin/logout">', ""), (
        "no form to fill in that could not be sent"
    )
    assert "New article" not in client.get("/admin/articles").get_data(as_text=True)
    assert client.get("/admin/articles/new").status_code == 403
    token = csrf_token(client, "/admin/")
    for target, data in [(url, fields()), ("/admin/articles", fields())]:
        assert client.post(target, data={"csrf_token": token, **data}).status_code == 403
    preview = client.post("/admin/articles/preview", json={}, headers={"X-CSRFToken": token})
    assert preview.status_code == 403
    assert article_row(committed, article.id)["title"] == "On Clocks"


def test_a_missing_article_is_a_404_page(editor, committed):
    assert editor.get("/admin/articles/999999").status_code == 404


def test_a_page_of_articles_is_one_keyset_query_without_offset_or_count(db, engine):
    ids = [make_article(db, f"Issue {n}", published_at=f"2026-11-0{n + 1}T09:00:00+00:00").id
           for n in range(5)]  # fmt: skip
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, *args) -> None:
        statements.append((statement.upper(), parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        page = list_articles(db, "issue", before=ids[3], limit=2)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [a.title for a in page] == ["Issue 2", "Issue 1"]
    listing = [(s, p) for s, p in statements if "FROM ARTICLES" in s and "LIMIT" in s]
    assert len(listing) == 1 and len(statements) <= 2  # the marker's time, then the page
    assert not any("COUNT(" in s for s, _ in statements)
    # SQLite's dialect always writes OFFSET after LIMIT; it must skip nothing.
    statement, parameters = listing[0]
    assert "OFFSET" not in statement or list(parameters)[-1] == 0
