"""Reader fields in an article and a subject: rendered once as placeholders, filled per
reader (HTML-escaped in the HTML, raw in the text, encoded in the Subject header), the
fallback for a reader without one; anything else between {{ }} is named, never sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from broadsheet.errors import ValidationError
from broadsheet.mail.personal import Field, placeholders, problems, without_reader
from broadsheet.mail.rendering import render_email
from broadsheet.mail.skeleton import MessageSkeleton, placeholder_context
from broadsheet.markdown import render_markdown
from broadsheet.services.articles import validate_article
from tests.broadsheet.mail.test_skeleton import bodies, parse, recipient

CITY = '{{ reader.attributes.city | default("friend") }}'
BODY = f"Hello {CITY}, and {{{{reader.name}}}}! Plan: {{{{ reader.attributes.plan }}}}."


@dataclass
class Article:
    title: str = "Rate of Change"
    dek: str = ""
    author: str = ""
    body_html: str = field(default_factory=lambda: render_markdown(BODY))
    published_at: datetime = datetime(2025, 3, 5, tzinfo=UTC)
    reading_minutes: int = 1
    canonical_url: str | None = None


@pytest.fixture(scope="module")
def skeleton() -> MessageSkeleton:
    article = Article()
    rendered = render_email(
        "article",
        {**placeholder_context(), "article": article,
         "body_html": placeholders(article.body_html, html_escaped=True),
         "subject": "s", "preheader": "", "archive_url": "https://news.example.org/a",
         "publication_name": "The Gazette", "public_url": "https://news.example.org"},
    )  # fmt: skip
    subject = placeholders(f"News for {CITY}", html_escaped=False)
    personal = type(rendered)(subject, rendered.text, rendered.html)
    return MessageSkeleton(
        personal, mail_from="G <news@example.org>", list_id="G <g.example.org>",
        campaign_id=7, unsubscribe=True,
    )  # fmt: skip


def test_each_reader_gets_their_own_values_escaped_in_html_raw_in_text(skeleton):
    city = "Lyon <b>&</b> “Villeurbanne”"
    message = parse(skeleton.render(recipient(name="Ann", attributes={"city": city, "plan": 3})))
    text, markup = bodies(message)
    assert f"Hello {city}, and Ann! Plan: 3." in text
    assert "Hello Lyon &lt;b&gt;&amp;&lt;/b&gt; “Villeurbanne”, and Ann! Plan: 3." in markup
    assert str(message["Subject"]) == f"News for {city}"
    assert b"Subject: =?utf-8?b?" in skeleton.render(recipient(attributes={"city": city}))


@pytest.mark.parametrize("attributes", [None, {}, {"city": ""}, {"city": ["a"]}, {"city": None}])
def test_a_reader_without_the_attribute_gets_the_fallback(skeleton, attributes):
    message = parse(skeleton.render(recipient(name="", attributes=attributes)))
    text, markup = bodies(message)
    assert "Hello friend, and ! Plan: ." in text and "Hello friend," in markup
    assert str(message["Subject"]) == "News for friend"


def test_a_value_cannot_break_a_line_or_a_header(skeleton):
    raw = skeleton.render(recipient(attributes={"city": "Lyon\r\nBcc: eve@evil.test"}))
    message = parse(raw)
    assert message["Bcc"] is None and str(message["Subject"]) == "News for Lyon Bcc: eve@evil.test"


def test_fields_survive_markdown_quotes_and_entities():
    html = render_markdown("{{ reader.attributes.x | default('a<b') }} {{ reader.name }}")
    assert problems(html, html_escaped=True) == []
    assert without_reader(html) == "<p>a&lt;b </p>\n"
    assert Field("attributes.x", "").value("", {"x": True}) == ""


@pytest.mark.parametrize(
    "written",
    ["{{ reader.city }}", "{{ name }}", "{{ reader.attributes.city | upper }}",
     "{{ reader.attributes['city'] }}", "{{ 7 * 7 }}", '{{ reader.name | default("' + "x" * 101
     + '") }}'],
)  # fmt: skip
def test_anything_else_between_braces_is_named_when_the_article_is_saved(written):
    assert problems(f"Hi {written}!", html_escaped=False)
    with pytest.raises(ValidationError) as refused:
        validate_article(title="T", body_markdown=f"Hi {written}!")
    assert "cannot fill in {{" in refused.value.fields["body_markdown"]
    assert "reader.attributes.city" in refused.value.fields["body_markdown"]


CODE_SAMPLE = """Write `{{ name }}` in a template, and {{ reader.name }} is yours:

```
<h1>{{ reader.name }}: {{ 7 * 7 }}</h1>
```
"""


def test_code_is_shown_as_written_neither_filled_nor_refused():
    validate_article(title="Templates", body_markdown=CODE_SAMPLE)  # saved, not refused
    html = render_markdown(CODE_SAMPLE)
    assert problems(html, html_escaped=True) == []
    filled = placeholders(html, html_escaped=True)
    assert "<code>{{ name }}</code>" in filled
    assert "{{ reader.name }}: {{ 7 * 7 }}" in filled  # in the code block, as written
    assert "and BSxR" in filled  # the prose's field is still a reader's
    archived = without_reader(html)
    assert "{{ reader.name }}: {{ 7 * 7 }}" in archived and "and  is yours" in archived


def test_braces_in_prose_beside_code_are_still_named():
    html = render_markdown("Code `{{ x }}` is fine, but {{ y }} is not.")
    assert problems(html, html_escaped=True) == ["{{ y }}"]


def test_in_plain_text_a_code_tag_is_only_typed_and_hides_nothing():
    """A subject is text: `<code>` in it marks no code."""
    assert problems("<code>{{ reader.nam }}</code> news", html_escaped=False) == [
        "{{ reader.nam }}"
    ]
    assert "BSxR" in placeholders("<code>{{ reader.name }}</code>", html_escaped=False)


def test_a_fallback_is_measured_and_named_as_the_editor_wrote_it():
    """In the HTML a Markdown body becomes, `&` is `&amp;`: it still counts as one character,
    and a refusal shows what the editor typed."""
    fits = '{{ reader.name | default("' + "a" * 96 + '&") }}'
    validate_article(title="T", body_markdown=f"Hi {fits}")
    over = '{{ reader.name | default("' + "a" * 100 + '&") }}'
    with pytest.raises(ValidationError) as refused:
        validate_article(title="T", body_markdown=f"Hi {over}")
    assert f"cannot fill in {over}" in refused.value.fields["body_markdown"]
