"""The link check against real HTTP servers on loopback, and through the real worker."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from broadsheet.checks import run_checks
from broadsheet.models import Campaign
from tests.support.factories import make_campaign, sample_message
from tests.support.smtp import free_port
from tests.support.web_servers import Server, make_certificate, serve
from worker.links import USER_AGENT, check_links
from worker.tasks import check_campaign_links

TIMEOUT = 0.5


@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    yield from serve(Server())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, and its key, as PEM files."""
    return make_certificate(tmp_path_factory.mktemp("tls"), [])


@pytest.fixture
def secure_site(certificate, monkeypatch) -> Iterator[Server]:
    """A site answering both http:// and https://, its certificate trusted by this process."""
    cert_file, key_file = certificate
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # read when check_links makes its context
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    yield from serve(Server(tls=context))


def results(report: dict) -> dict[str, dict]:
    return {result["url"]: result for result in report["results"]}


def test_each_answer_is_reported(site):
    paths = ["/ok", "/missing", "/broken", "/no-head", "/moved", "/loop", "/slow"]
    report = check_links([f"{site.url}{path}" for path in paths], timeout=TIMEOUT)
    found = {url.removeprefix(site.url): result for url, result in results(report).items()}
    summary = {path: (r["ok"], r["status"], r["error"]) for path, r in found.items()}
    assert summary == {
        "/ok": (True, 200, None),
        "/missing": (False, 404, None),
        "/broken": (False, 500, None),
        "/no-head": (True, 200, None),
        "/moved": (True, 200, None),
        "/loop": (False, 302, "more than 5 redirects"),
        "/slow": (False, None, f"no answer within {TIMEOUT:g} s"),
    }
    assert report["skipped"] is None
    assert dt.datetime.fromisoformat(report["checked_at"]).tzinfo is not None


def test_requests_are_head_with_a_get_only_for_servers_refusing_head(site):
    site.seen.clear()
    check_links([f"{site.url}/ok", f"{site.url}/no-head", f"{site.url}/moved"], timeout=TIMEOUT)
    seen = [(method, path) for method, path, _, _ in site.seen if not path.startswith("/slow")]
    assert sorted(seen) == sorted(
        [("HEAD", "/ok"), ("HEAD", "/no-head"), ("GET", "/no-head"), ("HEAD", "/moved"),
         ("HEAD", "/ok")]
    )  # fmt: skip
    assert {agent for _, _, agent, _ in site.seen} == {USER_AGENT}


def test_http_link_whose_https_form_does_not_answer(site):
    result = results(check_links([f"{site.url}/ok"], timeout=TIMEOUT))[f"{site.url}/ok"]
    assert (result["ok"], result["https"]) == (True, False)


def test_http_link_whose_https_form_answers(secure_site):
    url = f"{secure_site.url}/ok"
    assert results(check_links([url], timeout=TIMEOUT))[url]["https"] is True
    https = url.replace("http://", "https://")
    result = results(check_links([https], timeout=TIMEOUT))[https]
    assert (result["ok"], result["status"], result["https"]) == (True, 200, None)


def test_unresolvable_host_is_a_network_error(site):
    report = check_links(["http://no-such-host.invalid/", f"{site.url}/ok"], timeout=TIMEOUT)
    result = results(report)["http://no-such-host.invalid/"]
    assert (result["ok"], result["status"]) == (False, None)
    assert "DNS" in result["error"]
    assert report["skipped"] is None  # another link answered: the network works


def test_check_is_skipped_when_no_link_can_be_reached():
    closed = f"http://127.0.0.1:{free_port()}/"
    report = check_links(["http://no-such-host.invalid/", closed], timeout=TIMEOUT)
    assert (
        report["skipped"] == "skipped: this server cannot reach the internet (2 links not checked)"
    )
    assert results(report)[closed]["error"] == "connection refused"


def test_a_server_with_bad_tls_is_not_taken_for_an_offline_host(site):
    url = site.url.replace("http://", "https://") + "/ok"  # TLS to a plain HTTP server
    report = check_links([url], timeout=TIMEOUT)
    assert report["skipped"] is None
    assert results(report)[url]["error"].startswith("TLS failed")


def test_only_web_addresses_are_fetched():
    report = check_links(["file:///etc/hostname"], timeout=TIMEOUT)
    assert results(report)["file:///etc/hostname"]["error"] == "not an http(s) address"


def test_worker_stores_the_report_on_the_campaign(committed, celery_worker, site, settings):
    body = f"Read [this]({site.url}/ok) and [that]({site.url}/missing)."
    campaign = make_campaign(committed, body_markdown=body)
    committed.commit()
    campaign_id = campaign.id
    check_campaign_links.delay(campaign_id)

    deadline = time.monotonic() + 30
    while True:
        # Plain values, and the read ended at once: SQLite's write lock is taken at BEGIN.
        report, html = committed.execute(
            select(Campaign.link_report, Campaign.rendered_html).where(Campaign.id == campaign_id)
        ).one()
        committed.rollback()
        if report is not None:
            break
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.2)

    assert html is not None  # rendered by the task
    assert {url: r["ok"] for url, r in results(report).items()} == {
        f"{site.url}/ok": True,
        f"{site.url}/missing": False,
    }
    campaign = committed.get(Campaign, campaign_id)
    checks = run_checks(
        sample_message(committed, campaign, settings),
        subject=campaign.subject,
        preheader="",
        settings=settings,
        link_report=report,
    )
    committed.rollback()
    links = next(check for check in checks if check.key == "links")
    assert links.level == "fail"
    assert f"{site.url}/missing (404)" in links.detail
