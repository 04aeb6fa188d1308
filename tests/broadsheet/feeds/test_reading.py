"""Reading the corpus of real feed shapes (tests/fixtures/feeds): RSS 0.91 to 0.94, 1.0 (RDF),
2.0, Atom 0.3 and 1.0, a feed in ISO-8859-1, one of ill-formed XML, and bodies that are no feed
at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broadsheet.feeds.fetched import FeedUnavailable, Fetched
from broadsheet.feeds.reading import Entry, read_feed
from tests.support.feed_server import fixture

BASE = "http://127.0.0.1:8080/feeds/feed.xml"


def read(name: str, content_type: str | None = None) -> list[Entry]:
    return read_feed(Fetched(200, fixture(name), content_type=content_type), BASE)


def test_rss_091_without_guids_keys_entries_by_their_link_oldest_first():
    entries = read("rss091.xml")
    assert [(e.key, e.title, e.published) for e in entries] == [
        ("http://example.org/wire/1", "First dispatch", None),
        ("http://example.org/wire/2", "Second dispatch", None),
    ]
    assert "<b>HTML</b>" in entries[1].html  # an escaped description is HTML


def test_rss_092_escaped_html_is_read_and_its_extra_elements_ignored():
    lighthouse, ferry = read("rss092.xml")
    assert (ferry.key, ferry.link) == ("https://harbour.example.org/log/ferry",) * 2
    assert ferry.title == "Ferry timetable & winter changes"
    assert (ferry.author, ferry.published) == ("", None)  # 0.92 has neither
    assert "starts <em>Monday</em>" in ferry.html
    assert "<script" not in ferry.html and "onmouseover" not in ferry.html
    assert lighthouse.html == "Tours every half hour."


def test_rss_093_items_have_dates_and_no_guid():
    (garlic,) = read("rss093.xml")
    assert garlic.key == "https://allotment.example.org/diary/garlic"
    assert garlic.published == datetime(2026, 12, 1, 8, 15, tzinfo=UTC)
    assert "<strong>pointy end up</strong>" in garlic.html and "<iframe" not in garlic.html


def test_rss_094_guid_and_the_name_in_an_author_address():
    (geminids,) = read("rss094.xml")
    assert geminids.key == "sky-2026-geminids"
    assert geminids.link == "https://sky.example.org/notes/geminids"
    assert geminids.author == "Caroline Herschel"  # of "observer@… (Caroline Herschel)"
    assert geminids.published == datetime(2026, 12, 2, 20, tzinfo=UTC)  # +01:00 to UTC
    assert 'href="https://sky.example.org/charts/east"' in geminids.html
    assert "onclick" not in geminids.html and "<style" not in geminids.html


def test_atom_03_escaped_content_issued_time_and_author():
    (chisels,) = read("atom03.xml")
    assert chisels.key == "tag:workshop.example.org,2026:chisels"
    assert chisels.link == "https://workshop.example.org/notes/chisels"
    assert (chisels.title, chisels.author) == ("Sharpening chisels", "Joseph Moxon")
    assert chisels.published == datetime(2026, 12, 3, 8, tzinfo=UTC)  # issued, +02:00 to UTC
    assert "Hold the bevel <em>flat</em>" in chisels.html  # the content, not the summary
    assert "steal" not in chisels.html and "onerror" not in chisels.html


def test_rss_10_rdf_keys_by_rdf_about_with_dublin_core_author_and_date():
    entries = read("rss10.rdf")
    assert [(e.key, e.author, e.published) for e in entries] == [
        ("http://example.org/rdf/notes/1", "Ada Lovelace", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        ("http://example.org/rdf/notes/2", "Ada Lovelace", datetime(2026, 12, 2, 10, tzinfo=UTC)),
    ]


def test_rss_20_content_entities_and_relative_links():
    plain, cafe = read("rss20.xml")
    assert cafe.key == "tag:example.org,2026:cafe"
    assert cafe.title == "Café & Crème — a review"
    assert cafe.author == "Grace Hopper"
    assert cafe.published == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    # Relative links, the entry's own and those in its content, against the feed's address.
    assert cafe.link == "http://127.0.0.1:8080/feeds/posts/cafe"
    assert 'href="http://127.0.0.1:8080/places/cafe"' in cafe.html
    assert 'src="http://127.0.0.1:8080/feeds/img/cup.jpg"' in cafe.html
    assert "We went to" in cafe.html  # the full content rather than the summary
    assert plain.html == "Only a summary here."


def test_atom_xml_base_html_titles_and_plain_text_summaries():
    untimed, tides = read("atom.xml")
    assert tides.title == "Tides & currents"  # type="html": tags gone, entities decoded
    assert tides.link == "https://example.net/journal/entries/tides"
    assert 'href="https://example.net/maps/tide"' in tides.html
    assert tides.author == "Rachel Carson"
    assert untimed.published == datetime(2026, 12, 2, 7, tzinfo=UTC)  # +01:00 to UTC
    assert untimed.html == "<p>Plain text\nwith a line break &lt;not a tag&gt;.</p>"


@pytest.mark.parametrize("content_type", [None, "application/rss+xml"])
def test_a_feed_in_iso_8859_1_is_decoded(content_type):
    (entry,) = read("latin1.xml", content_type)
    assert entry.title == "Été à la plage"
    assert "Café, crème brûlée et naïveté." in entry.html


def test_ill_formed_xml_is_read_as_far_as_it_goes():
    (entry,) = read("illformed.xml")
    assert (entry.key, entry.title) == ("http://example.com/bread", "Bread & butter")


@pytest.mark.parametrize(
    "body",
    [b"<html><body><p>A web page</p></body></html>", b"\x00\xff\xfe garbage", b""],
    ids=["html-page", "binary", "empty"],
)
def test_a_body_that_is_no_feed_is_refused_with_the_reason(body):
    with pytest.raises(FeedUnavailable, match="not an RSS or Atom feed"):
        read_feed(Fetched(200, body), BASE)


def test_an_entry_with_neither_id_nor_link_is_left_out():
    body = b"""<rss version="2.0"><channel><title>t</title>
      <item><title>nameless</title><description>no way to know it again</description></item>
      <item><title>known</title><guid isPermaLink="false">k1</guid></item></channel></rss>"""
    assert [entry.key for entry in read_feed(Fetched(200, body), BASE)] == ["k1"]
