"""Pre-send checks, each judged on the message a reader would get from a real campaign."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from broadsheet.mail.checks import KEYS, MAX_LINKS, Check, links_in, run_checks, worst
from broadsheet.mail.compose import campaign_recipient, list_id
from broadsheet.mail.rendering import RenderedEmail
from broadsheet.mail.skeleton import PLACEHOLDERS, MessageSkeleton
from tests.support.factories import make_campaign, sample_message

LINKS = "Read [the report](https://example.org/report) and [the data](https://example.org/data)."


@pytest.fixture(scope="module")
def dkim_pem() -> str:
    return (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.fixture
def https_settings(settings):
    """The test settings with PUBLIC_URL on https, as production has it."""
    return dataclasses.replace(settings, public_url="https://news.example.test")


def checks_of(
    db, settings, *, preheader="", link_report=None, subject=None, postal_address="", **article
):
    campaign = make_campaign(db, **article)
    message = sample_message(db, campaign, settings)
    checks = run_checks(
        message,
        subject=campaign.subject if subject is None else subject,
        preheader=preheader,
        settings=settings,
        link_report=link_report,
        postal_address=postal_address,
    )
    return {check.key: check for check in checks}


def report(*results, skipped=None):
    return {"checked_at": "2026-03-01T07:00:00+00:00", "results": list(results), "skipped": skipped}


def answered(url, https=None):
    return {"url": url, "outcome": "works", "reason": None, "https": https}


def broken(url, reason="404 Not Found"):
    return {"url": url, "outcome": "broken", "reason": reason, "https": None}


def not_checked(url, reason="the address is internal"):
    return {"url": url, "outcome": "not checked", "reason": reason, "https": None}


def test_every_check_runs_in_order_with_a_title_and_a_reason(db, settings):
    checks = run_checks(
        sample_message(db, make_campaign(db), settings),
        subject="Rate of Change",
        preheader="",
        settings=settings,
        link_report=None,
    )
    assert [check.key for check in checks] == list(KEYS)
    for check in checks:
        assert check.level in ("pass", "warn", "fail")
        assert check.title and check.detail.endswith(".")


def test_a_well_prepared_campaign_passes_every_check(db, https_settings, dkim_pem):
    settings = dataclasses.replace(https_settings, dkim_private_key=dkim_pem, dkim_selector="s1")
    links = report(answered("https://example.org/report"), answered("https://example.org/data"))
    checks = checks_of(
        db, settings, preheader="What the markets did.", link_report=links, body_markdown=LINKS,
        postal_address="12 Quay Street\nLyon",
    )  # fmt: skip
    assert {key: check.level for key, check in checks.items()} == dict.fromkeys(KEYS, "pass")
    assert worst(checks.values()) == "pass"
    assert checks["links"].detail == "All 2 links work."


def test_worst_ranks_fail_over_warn_over_pass():
    def check(level):
        return Check("subject", "Subject line", level, "Why.")

    assert worst([check("pass"), check("fail"), check("warn")]) == "fail"
    assert worst([check("pass"), check("warn")]) == "warn"
    assert worst([check("pass")]) == worst([]) == "pass"


def test_html_over_gmails_clipping_limit_fails(db, settings):
    paragraphs = "\n\n".join(f"Paragraph {n} " + "word " * 14 for n in range(1300))
    check = checks_of(db, settings, body_markdown=paragraphs)["size"]
    assert check.level == "fail"
    assert check.detail.startswith("The HTML is 15")  # about 151 KB
    assert "Gmail clips messages over about 102 KB" in check.detail


def test_html_near_the_limit_warns(db, settings):
    paragraphs = "\n\n".join(f"Paragraph {n} " + "word " * 14 for n in range(800))
    check = checks_of(db, settings, body_markdown=paragraphs)["size"]
    assert check.level == "warn", check.detail
    assert "close to the 102 KB" in check.detail


def test_a_short_article_passes_size_naming_it(db, settings):
    check = checks_of(db, settings)["size"]
    assert check.level == "pass"
    assert check.detail.startswith("The HTML is ") and " KB, well under" in check.detail


def test_image_without_alt_text_warns_naming_it(db, settings):
    body = (
        '<img src="https://img.example.org/chart.png">\n\n'
        "![Rates since 2020](https://img.example.org/rates.png)"
    )
    check = checks_of(db, settings, body_markdown=body)["images"]
    assert check.level == "warn"
    assert check.detail.startswith("1 of 2 images has no alt text")
    assert "https://img.example.org/chart.png" in check.detail
    assert "rates.png" not in check.detail


def test_markdown_image_without_description_warns(db, settings):
    # Markdown writes alt="" for ![](...): the editor most likely forgot, so it counts too.
    check = checks_of(db, settings, body_markdown="![](https://img.example.org/a.png)")["images"]
    assert check.level == "warn"


def test_images_with_alt_text_pass(db, settings):
    body = "![Rates since 2020](https://img.example.org/rates.png)"
    check = checks_of(db, settings, body_markdown=body)["images"]
    assert (check.level, check.detail) == ("pass", "Every image has alt text (1 image).")


def test_relative_link_in_markdown_fails_naming_the_link(db, settings):
    # The sanitizer drops a relative href, so the reader would get plain text: name the text.
    check = checks_of(db, settings, body_markdown="See [About us](/about).")["relative-links"]
    assert check.level == "fail"
    assert "1 link lost its address (“About us”)" in check.detail
    assert "write every address in full" in check.detail


def test_address_without_a_host_fails_naming_it(db, settings):
    body = "[one](http:example.org/one) and <a href='https:/two'>two</a>"
    check = checks_of(db, settings, body_markdown=body)["relative-links"]
    assert check.level == "fail"
    assert check.detail.startswith(
        "2 addresses are not absolute (http:example.org/one, https:/two)"
    )


def test_relative_image_fails(db, settings):
    check = checks_of(db, settings, body_markdown="![Logo](/logo.png)")["relative-links"]
    assert check.level == "fail"
    assert "1 image lost its address" in check.detail


def test_absolute_addresses_pass(db, settings):
    body = f"{LINKS} Mail [us](mailto:desk@example.org)."
    check = checks_of(db, settings, body_markdown=body)["relative-links"]
    assert (check.level, check.detail) == ("pass", "Every link and image address is absolute.")


@pytest.mark.parametrize(
    ("link_report", "level", "detail"),
    [
        (None, "warn", "The links have not been checked yet."),
        (
            report(skipped="skipped: this server cannot reach the internet (2 links not checked)"),
            "warn",
            "The link check was skipped: this server cannot reach the internet "
            "(2 links not checked).",
        ),
        (
            report(
                broken("https://example.org/report"),
                broken("https://example.org/data", "no answer"),
            ),
            "fail",
            "2 of 2 links did not work when checked: https://example.org/report (404 Not Found), "
            "https://example.org/data (no answer).",
        ),
        (
            report(broken("https://example.org/report"), not_checked("https://example.org/data")),
            "fail",
            "1 of 2 links did not work when checked: https://example.org/report (404 Not Found). "
            "1 link was not checked: https://example.org/data (the address is internal).",
        ),
        (
            report(
                answered("https://example.org/report"),
                not_checked("https://example.org/data", "it redirects to an internal address"),
            ),
            "warn",
            "1 link was not checked: https://example.org/data (it redirects to an internal "
            "address).",
        ),
        (
            report(
                {"url": "https://example.org/report", "ok": True, "status": 200, "error": None},
                {"url": "https://example.org/data", "ok": False, "status": None, "error": "x"},
            ),
            "warn",
            "The links were last checked by an earlier version of Broadsheet: check them again.",
        ),
        (
            report(answered("https://example.org/report")),
            "warn",
            "1 link changed since the last check (https://example.org/data).",
        ),
        (
            report(
                answered("https://example.org/report"),
                answered("https://example.org/data"),
                broken("https://example.org/taken-out"),
            ),
            "pass",
            "All 2 links work.",
        ),
    ],
)
def test_links_are_judged_by_the_workers_report(db, settings, link_report, level, detail):
    check = checks_of(db, settings, body_markdown=LINKS, link_report=link_report)["links"]
    assert (check.level, check.detail) == (level, detail)


def test_http_link_whose_https_answers_warns(db, settings):
    body = "[the report](http://example.org/report)"
    links = report(answered("http://example.org/report", https=True))
    check = checks_of(db, settings, body_markdown=body, link_report=links)["links"]
    assert check.level == "warn"
    assert check.detail == (
        "1 link uses http:// where the https:// address works too "
        "(http://example.org/report): switch it to https://."
    )


def test_http_link_without_https_passes(db, settings):
    body = "[the report](http://example.org/report)"
    links = report(answered("http://example.org/report", https=False))
    assert checks_of(db, settings, body_markdown=body, link_report=links)["links"].level == "pass"


def test_links_beyond_the_checked_number_are_reported(db, settings):
    urls = [f"https://example.org/{n}" for n in range(MAX_LINKS + 20)]
    body = " ".join(f"[{n}]({url})" for n, url in enumerate(urls))
    links = report(*(answered(url) for url in urls[:MAX_LINKS]))
    check = checks_of(db, settings, body_markdown=body, link_report=links)["links"]
    assert check.level == "warn"
    assert check.detail.startswith(f"Only the first {MAX_LINKS} of the message's 120 links")


def test_campaign_without_outside_links_passes_unchecked(db, settings):
    check = checks_of(db, settings)["links"]  # the archive links are our own pages
    assert (check.level, check.detail) == ("pass", "The message has no links to check.")


def test_unsubscribe_headers_and_links_pass_on_https(db, https_settings):
    assert checks_of(db, https_settings)["unsubscribe"].level == "pass"


def test_unsubscribe_over_http_warns(db, settings):
    check = checks_of(db, settings)["unsubscribe"]  # the tests' PUBLIC_URL is http://
    assert check.level == "warn"
    assert "set PUBLIC_URL to the public https address" in check.detail


def message_without(db, settings, *, unsubscribe=True, text_link=True):
    """A campaign's message built without the List-Unsubscribe headers or the text's link."""
    campaign = make_campaign(db)
    sample_message(db, campaign, settings)  # renders it
    text, html = campaign.rendered_text, campaign.rendered_html
    assert text is not None and html is not None
    if not text_link:
        text = text.replace(PLACEHOLDERS["unsubscribe_url"], "(see the web page)")
    skeleton = MessageSkeleton(
        RenderedEmail(campaign.subject, text, html),
        mail_from=settings.mail_from,
        list_id=list_id(settings),
        campaign_id=campaign.id,
        unsubscribe=unsubscribe,
    )
    reader = campaign_recipient(settings, campaign.id, 1, "ann@example.org", "Ann Reader")
    checks = run_checks(
        skeleton.render(reader), subject="Hi", preheader="", settings=settings, link_report=None
    )
    return {check.key: check for check in checks}["unsubscribe"]


def test_missing_list_unsubscribe_fails(db, https_settings):
    check = message_without(db, https_settings, unsubscribe=False)
    assert check.level == "fail"
    assert check.detail == (
        "Gmail and Yahoo require one-click unsubscribe in bulk mail, but the message has no "
        "List-Unsubscribe header with a web address and no List-Unsubscribe-Post: "
        "List-Unsubscribe=One-Click header."
    )


def test_unsubscribe_link_missing_from_the_text_fails(db, https_settings):
    check = message_without(db, https_settings, text_link=False)
    assert check.level == "fail"
    assert check.detail.endswith("the unsubscribe link is not in the text part.")


@pytest.mark.parametrize(
    ("subject", "level", "detail"),
    [
        ("", "fail", "The subject is empty."),
        ("Rate of Change", "pass", "The subject is 14 characters."),
        (
            "R" * 80,
            "warn",
            "The subject is 80 characters: inboxes cut it off after about 70 (phones sooner), "
            "so put what matters first.",
        ),
    ],
)
def test_subject(db, settings, subject, level, detail):
    check = checks_of(db, settings, subject=subject)["subject"]
    assert (check.level, check.detail) == (level, detail)


def test_long_title_makes_a_long_subject_that_warns(db, settings):
    check = checks_of(db, settings, title="A" * 80)["subject"]
    assert check.level == "warn" and "80 characters" in check.detail


def test_empty_preheader_warns(db, settings):
    check = checks_of(db, settings, preheader="  ")["preheader"]
    assert check.level == "warn"
    assert "inboxes show the first text of the message" in check.detail


def test_preheader_passes_quoting_it(db, settings):
    check = checks_of(db, settings, preheader="What the markets did.")["preheader"]
    assert (check.level, check.detail) == (
        "pass",
        "Inboxes show “What the markets did.” after the subject.",
    )


def test_without_dkim_key_warns_naming_the_sender_domain(db, settings):
    check = checks_of(db, settings)["dkim"]
    assert check.level == "warn"
    assert check.detail.startswith("Mail from example.test is not DKIM-signed")
    assert "Gmail and Yahoo expect bulk mail to be DKIM-signed" in check.detail


@pytest.mark.parametrize(
    ("mail_from", "dkim_domain"),
    [("news@example.test", "example.test"), ("news@mail.example.test", "example.test")],
)
def test_aligned_dkim_key_passes(db, settings, dkim_pem, mail_from, dkim_domain):
    settings = dataclasses.replace(
        settings,
        mail_from=f"The Test Gazette <{mail_from}>",
        dkim_private_key=dkim_pem,
        dkim_selector="news2026",
        dkim_domain=dkim_domain,
    )
    check = checks_of(db, settings)["dkim"]
    assert check.level == "pass"
    assert check.detail == (
        f"Mail is DKIM-signed for {dkim_domain} with selector news2026; its public key must "
        f"be published at news2026._domainkey.{dkim_domain}."
    )


def test_dkim_domain_not_aligned_with_the_sender_warns(db, settings, dkim_pem):
    settings = dataclasses.replace(
        settings, dkim_private_key=dkim_pem, dkim_selector="s1", dkim_domain="mail.example.test"
    )
    check = checks_of(db, settings)["dkim"]
    assert check.level == "warn"
    assert check.detail.startswith(
        "Mail is signed for mail.example.test but sent from example.test"
    )
    assert "DMARC" in check.detail


def test_links_in_leaves_out_personal_links_and_our_own_pages(db, settings):
    body = (
        "[a](https://example.org/a) ![chart](https://img.example.org/c.png) "
        "[a again](https://example.org/a) [issue](http://news.example.test/archive/old) "
        "[b](http://example.org/b) [mail](mailto:desk@example.org)"
    )
    campaign = make_campaign(db, body_markdown=body)
    sample_message(db, campaign, settings)
    html = campaign.rendered_html
    assert html is not None
    assert PLACEHOLDERS["unsubscribe_url"] in html and f"{settings.public_url}/archive/" in html
    found = links_in(html, public_url=settings.public_url)
    assert found == [
        "https://example.org/a",
        "https://img.example.org/c.png",
        "http://example.org/b",
    ]
    assert links_in(html, public_url=settings.public_url, limit=2) == found[:2]


def test_links_in_stops_at_the_checked_number():
    html = "".join(f'<a href="https://example.org/{n}">{n}</a>' for n in range(MAX_LINKS + 5))
    assert len(links_in(html, public_url="https://news.example.org")) == MAX_LINKS
    assert len(links_in(html, public_url="https://news.example.org", limit=None)) == MAX_LINKS + 5
