"""Pre-send checks: how a campaign's message will fare in inboxes and their filters, each a
pass, warn or fail with one sentence saying why.

The checks read the complete message a sample reader would get (the bytes the worker sends),
so the admin, the API and the worker judge exactly what goes out. The link check itself runs
in the worker (worker/links.py); its stored report (`Campaign.link_report`, shaped as in
broadsheet/mail/link_report.py) is read here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal
from urllib.parse import urlsplit

from broadsheet.mail.link_report import BROKEN, NOT_CHECKED, WORKS
from broadsheet.mail.look import AA, contrast_problems
from broadsheet.mail.markup import Markup, scan
from broadsheet.mail.personal import Field, unfilled
from broadsheet.mail.skeleton import PLACEHOLDERS, domain_of
from broadsheet.settings import Settings

Level = Literal["pass", "warn", "fail"]
KEYS = (
    "size", "images", "contrast", "relative-links", "links", "unsubscribe", "postal-address",
    "subject", "reader-fields", "preheader", "dkim",
)  # fmt: skip
KB = 1024
CLIP_BYTES = 102 * KB  # Gmail shows "[Message clipped]" past this much HTML
NEAR_CLIP_BYTES = 90 * KB
SUBJECT_LENGTH = 70  # about what a desktop inbox shows of a subject
MAX_LINKS = 100  # links checked per campaign, in order of appearance
SHOWN = 3  # examples named in a detail
_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Check:
    """One pre-send check: a stable `key`, a `title` to show, its level and why."""

    key: str
    title: str
    level: Level
    detail: str


def worst(checks: Iterable[Check]) -> Level:
    """The most serious level among `checks`: "fail" over "warn" over "pass"."""
    return max((check.level for check in checks), key=_RANK.__getitem__, default="pass")


def run_checks(
    message: bytes,
    *,
    subject: str,
    preheader: str,
    settings: Settings,
    link_report: Mapping[str, Any] | None,
    postal_address: str = "",
    accent: str = "",
    reader_fields: Sequence[Field] = (),
) -> list[Check]:
    """Every pre-send check of `message` (the RFC 5322 message as sent to a sample reader), in
    the order of KEYS. `link_report` is the worker's last link check, or None;
    `postal_address` the one its footer carries; `accent` its links' and button's colour;
    `reader_fields` those its rendering fills in per reader."""
    parsed = BytesParser(policy=policy.default).parsebytes(message)
    html, text = _body(parsed, "html"), _body(parsed, "plain")
    markup = scan(html or "")
    return [
        _size(html),
        _images(markup),
        _contrast(accent),
        _relative_links(markup),
        _links(links_in(html or "", public_url=settings.public_url, limit=None), link_report),
        _unsubscribe(parsed, markup, text or ""),
        _postal(postal_address),
        _subject(subject),
        _reader_fields(reader_fields, str(parsed["Subject"] or ""), html or ""),
        _preheader(preheader),
        _dkim(settings),
    ]


def links_in(html: str, *, public_url: str, limit: int | None = MAX_LINKS) -> list[str]:
    """The distinct absolute http(s) links (a href, img src) of a campaign's HTML, in order
    of appearance, at most `limit`. Left out: personal links still holding a placeholder, and
    links under `public_url` (our archive and unsubscribe pages, not yet live for a draft)."""
    links: dict[str, None] = {}
    for url in scan(html).web_links:
        if limit is not None and len(links) >= limit:
            break
        if _absolute_web(url) and not _personal(url) and not _under(url, public_url):
            links.setdefault(url)
    return list(links)


def _size(html: str | None) -> Check:
    title = "Message size"
    if html is None:
        return Check("size", title, "fail", "The message has no HTML part.")
    size = len(html.encode())
    shown = f"The HTML is {math.ceil(size / KB)} KB"
    if size > CLIP_BYTES:
        return Check(
            "size", title, "fail",
            f"{shown}: Gmail clips messages over about 102 KB, hiding the end of the article "
            "and the unsubscribe link.",
        )  # fmt: skip
    if size > NEAR_CLIP_BYTES:
        return Check(
            "size", title, "warn",
            f"{shown}, close to the 102 KB past which Gmail clips a message and hides its end, "
            "the unsubscribe link included.",
        )  # fmt: skip
    return Check("size", title, "pass", f"{shown}, well under Gmail's 102 KB clipping limit.")


def _images(markup: Markup) -> Check:
    title = "Image descriptions"
    total = len(markup.images)
    bare = [src or "(no address)" for src, alt in markup.images if not (alt or "").strip()]
    if not total:
        return Check("images", title, "pass", "The message has no images.")
    if bare:
        return Check(
            "images", title, "warn",
            f"{len(bare)} of {_count(total, 'image')} {_has(bare)} no alt text "
            f"({_few(bare)}): readers whose mail app blocks images, and screen readers, get "
            "nothing instead; describe each as ![description](address), or ignore this for a "
            "purely decorative image.",
        )  # fmt: skip
    return Check("images", title, "pass", f"Every image has alt text ({_count(total, 'image')}).")


def _contrast(accent: str) -> Check:
    title = "Colour contrast"
    if not accent:
        return Check("contrast", title, "pass", "Links and buttons are in the stock colours.")
    problems = contrast_problems(accent)
    if problems:
        return Check(
            "contrast", title, "warn",
            f"With the accent colour {accent}, {_and(problems)} fall short of the {AA:g}:1 "
            "that WCAG AA asks of text, so some readers cannot read them: choose a darker "
            "accent under Publication (or the newsletter's look).",
        )  # fmt: skip
    return Check(
        "contrast", title, "pass",
        f"Links and buttons in the accent colour {accent} read at {AA:g}:1 or more, in light "
        "and dark mode.",
    )  # fmt: skip


def _relative_links(markup: Markup) -> Check:
    title = "Link addresses"
    relative = list(dict.fromkeys(url for url in markup.addresses if not _absolute(url)))
    problems = []
    if relative:
        problems.append(
            f"{_count(len(relative), 'address')} {_is(relative)} not absolute ({_few(relative)}), "
            "which an inbox cannot follow"
        )
    if markup.lost_links:
        problems.append(
            f"{_count(len(markup.lost_links), 'link')} lost {_its(markup.lost_links)} address "
            f"({_few(markup.lost_links, quoted=True)}) when the article was rendered, which "
            "keeps only full http(s) and mailto: addresses"
        )
    if markup.lost_images:
        problems.append(
            f"{_count(markup.lost_images, 'image')} lost {_its(markup.lost_images)} address, "
            "as images load only from full http(s) addresses"
        )
    if problems:
        return Check(
            "relative-links", title, "fail",
            f"{'; '.join(problems)}: write every address in full, such as "
            "https://example.org/about.",
        )  # fmt: skip
    return Check("relative-links", title, "pass", "Every link and image address is absolute.")


def _links(current: Sequence[str], report: Mapping[str, Any] | None) -> Check:
    """`current`: every link of the message; `report`: the worker's last check of them."""
    title = "Links work"
    if not current:
        return Check("links", title, "pass", "The message has no links to check.")
    if report is None:
        return Check("links", title, "warn", "The links have not been checked yet.")
    if report.get("skipped"):
        note = str(report["skipped"]).removeprefix("skipped: ")
        return Check("links", title, "warn", f"The link check was skipped: {note}.")
    # Only the links still in the message: one taken out since the check no longer counts.
    present = set(current)
    results = [
        r for r in report.get("results") or () if isinstance(r, Mapping) and r.get("url") in present
    ]
    if any("outcome" not in r for r in results):  # a report from before outcomes were kept
        return Check(
            "links", title, "warn",
            "The links were last checked by an earlier version of Broadsheet: check them again.",
        )  # fmt: skip
    broken = [r for r in results if r["outcome"] == BROKEN]
    skipped = [r for r in results if r["outcome"] == NOT_CHECKED]
    insecure = [
        str(r["url"])
        for r in results
        if r["outcome"] == WORKS and r.get("https") and str(r["url"]).startswith("http://")
    ]
    checked = {r["url"] for r in results}
    unchecked = [url for url in current if url not in checked]
    if broken:
        also = f" {_not_checked(skipped)}" if skipped else ""
        return Check(
            "links", title, "fail",
            f"{len(broken)} of {_count(len(results), 'link')} did not work when checked: "
            f"{_reasons(broken)}.{also}",
        )  # fmt: skip
    if unchecked:
        if len(current) > MAX_LINKS:
            why = f"Only the first {MAX_LINKS} of the message's {len(current)} links are checked"
        else:
            why = f"{_count(len(unchecked), 'link')} changed since the last check"
        return Check("links", title, "warn", f"{why} ({_few(unchecked)}).")
    if skipped:
        return Check("links", title, "warn", _not_checked(skipped))
    if insecure:
        return Check(
            "links", title, "warn",
            f"{_count(len(insecure), 'link')} {'uses' if len(insecure) == 1 else 'use'} "
            f"http:// where the https:// address works too ({_few(insecure)}): switch "
            f"{'it' if len(insecure) == 1 else 'them'} to https://.",
        )  # fmt: skip
    return Check("links", title, "pass", f"All {_count(len(results), 'link')} work.")


def _not_checked(results: Sequence[Mapping[str, Any]]) -> str:
    """A sentence naming the links the check did not ask, and why (an internal address...)."""
    return (
        f"{_count(len(results), 'link')} {'was' if len(results) == 1 else 'were'} not checked: "
        f"{_reasons(results)}."
    )


def _reasons(results: Sequence[Mapping[str, Any]]) -> str:
    """The first few links of `results`, each with its reason: "url (404 Not Found), ..."."""
    shown = ", ".join(f"{r['url']} ({r.get('reason') or r['outcome']})" for r in results[:SHOWN])
    return f"{shown} and {len(results) - SHOWN} more" if len(results) > SHOWN else shown


def _unsubscribe(message: EmailMessage, markup: Markup, text: str) -> Check:
    title = "One-click unsubscribe"
    header = str(message.get("List-Unsubscribe") or "")
    urls = [part.strip().strip("<>") for part in header.split(",")]
    url = next((u for u in urls if _absolute_web(u)), None)
    post = str(message.get("List-Unsubscribe-Post") or "").strip()
    missing = []
    if url is None:
        missing.append("no List-Unsubscribe header with a web address")
    if post != "List-Unsubscribe=One-Click":
        missing.append("no List-Unsubscribe-Post: List-Unsubscribe=One-Click header")
    if url is not None and url not in text:
        missing.append("the unsubscribe link is not in the text part")
    if url is not None and url not in markup.web_links:
        missing.append("the unsubscribe link is not in the HTML part")
    if missing:
        return Check(
            "unsubscribe", title, "fail",
            f"Gmail and Yahoo require one-click unsubscribe in bulk mail, but the message has "
            f"{_and(missing)}.",
        )  # fmt: skip
    assert url is not None
    if not url.lower().startswith("https://"):
        return Check(
            "unsubscribe", title, "warn",
            f"The unsubscribe link is http:// ({url}), and one-click unsubscribe (RFC 8058) "
            "needs https://: set PUBLIC_URL to the public https address.",
        )  # fmt: skip
    return Check(
        "unsubscribe", title, "pass",
        "The one-click unsubscribe headers are present, and the same link is in the text and "
        "the HTML.",
    )  # fmt: skip


def _subject(subject: str) -> Check:
    title = "Subject line"
    length = len(subject.strip())
    if not length:
        return Check("subject", title, "fail", "The subject is empty.")
    if length > SUBJECT_LENGTH:
        return Check(
            "subject", title, "warn",
            f"The subject is {length} characters: inboxes cut it off after about "
            f"{SUBJECT_LENGTH} (phones sooner), so put what matters first.",
        )  # fmt: skip
    return Check("subject", title, "pass", f"The subject is {length} characters.")


def _reader_fields(fields: Sequence[Field], subject: str, markup: str) -> Check:
    """Fields left unfilled in the message as sent (an article from before they were checked,
    or a feed's entry, say) fail: readers would see the braces. The HTML is read, where code
    is marked (the text part is made from it): braces in code are shown as written."""
    title = "Reader fields"
    left = unfilled(subject, markup)
    if left:
        return Check(
            "reader-fields", title, "fail",
            f"Readers would see {_few(left)} as written: only {{{{ reader.name }}}} and "
            "{{ reader.attributes.<name> }} (with an optional | default(\"…\")) are filled in; "
            "correct the article or the subject.",
        )  # fmt: skip
    if not fields:
        return Check("reader-fields", title, "pass", "Nothing is filled in per reader.")
    shown = [f"reader.{f.path} (else “{f.fallback}”)" if f.fallback else f"reader.{f.path}"
             for f in fields]  # fmt: skip
    return Check(
        "reader-fields", title, "pass",
        f"Filled in for each reader: {_few(shown)}; readers without one get what follows "
        "“else”, or nothing.",
    )  # fmt: skip


def _preheader(preheader: str) -> Check:
    title = "Preheader"
    if not preheader.strip():
        return Check(
            "preheader", title, "warn",
            "There is no preheader, so inboxes show the first text of the message after the "
            "subject instead.",
        )  # fmt: skip
    return Check(
        "preheader", title, "pass", f"Inboxes show “{preheader.strip()}” after the subject."
    )


def _postal(address: str) -> Check:
    title = "Postal address"
    if not address.strip():
        return Check(
            "postal-address", title, "warn",
            "The footer has no postal address: the law in many places (CAN-SPAM in the US, "
            "among others) asks bulk mail for one. An admin sets it under Publication.",
        )  # fmt: skip
    return Check(
        "postal-address", title, "pass", "The footer carries the publication's postal address."
    )


def _dkim(settings: Settings) -> Check:
    title = "DKIM signature"
    sender = domain_of(settings.mail_from)
    if settings.dkim_private_key is None or settings.dkim_selector is None:
        return Check(
            "dkim", title, "warn",
            f"Mail from {sender} is not DKIM-signed: Gmail and Yahoo expect bulk mail to be "
            "DKIM-signed with a domain aligned to the From address, and one-click unsubscribe "
            "needs the signature; set DKIM_PRIVATE_KEY and DKIM_SELECTOR.",
        )  # fmt: skip
    domain = (settings.dkim_domain or sender).lower()
    if sender != domain and not sender.endswith(f".{domain}"):
        return Check(
            "dkim", title, "warn",
            f"Mail is signed for {domain} but sent from {sender}: DMARC counts the signature "
            f"only when its domain is the From domain or a parent of it, so set DKIM_DOMAIN "
            f"to {sender}.",
        )  # fmt: skip
    selector = settings.dkim_selector
    return Check(
        "dkim", title, "pass",
        f"Mail is DKIM-signed for {domain} with selector {selector}; its public key must be "
        f"published at {selector}._domainkey.{domain}.",
    )  # fmt: skip


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return None
    return str(part.get_content()).replace("\r\n", "\n")


def _absolute(url: str) -> bool:
    """An address that works from an inbox: http(s) with a host, mailto:, tel:, or #fragment."""
    stripped = url.strip()
    return _absolute_web(stripped) or stripped.lower().startswith(("mailto:", "tel:", "#"))


def _absolute_web(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # a malformed IPv6 host, say
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _personal(url: str) -> bool:
    return any(placeholder in url for placeholder in PLACEHOLDERS.values())


def _under(url: str, base: str) -> bool:
    """`url` is `base` or below it (scheme and host compared without case)."""
    link, root = urlsplit(url), urlsplit(base)
    if (link.scheme.lower(), link.netloc.lower()) != (root.scheme.lower(), root.netloc.lower()):
        return False
    path = root.path.rstrip("/")
    return not path or link.path == path or link.path.startswith(f"{path}/")


def _few(items: Sequence[object], *, quoted: bool = False) -> str:
    shown = [f"“{item}”" if quoted else str(item) for item in items[:SHOWN]]
    if len(items) > SHOWN:
        return f"{', '.join(shown)} and {len(items) - SHOWN} more"
    return ", ".join(shown)


def _count(n: int, noun: str) -> str:
    plural = f"{noun}es" if noun.endswith("s") else f"{noun}s"
    return f"{n} {noun if n == 1 else plural}"


def _is(items: Sequence[object]) -> str:
    return "is" if len(items) == 1 else "are"


def _has(items: Sequence[object]) -> str:
    return "has" if len(items) == 1 else "have"


def _its(items: Sequence[object] | int) -> str:
    return "its" if (items if isinstance(items, int) else len(items)) == 1 else "their"


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
