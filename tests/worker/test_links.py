"""The link check against real servers on loopback (through the real worker:
tests/e2e/test_link_check.py).

The check asks only public addresses. These tests allow 127.0.0.1 explicitly (LOOPBACK) for
their web site; the tests of refusals use the production policy, or one that allows 127.0.0.1
alone, and a listening port that records every connection made to it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any
from urllib.parse import quote

import pytest

from broadsheet.mail.link_report import NOT_CHECKED, LinkReport, LinkResult
from tests.support.smtp import free_port
from tests.support.web_servers import Listener, Server, listening, make_certificate, serve
from worker.link_http import USER_AGENT
from worker.link_policy import AddressPolicy, IPAddress, is_public
from worker.links import OUT_OF_TIME, _outcome, _Verdict, check_links

TIMEOUT = 0.5
LOOPBACK = AddressPolicy(also=(ipaddress.ip_network("127.0.0.1/32"),))
INTERNAL = ("not checked", "the address is internal")
NO_ANSWER = ("broken", "no answer")


def check(urls: list[str], **options: Any) -> dict[str, LinkResult]:
    """Each URL's result, checked with the tests' policy (public addresses and 127.0.0.1)."""
    options.setdefault("policy", LOOPBACK)
    options.setdefault("timeout", TIMEOUT)
    return results(check_links(urls, **options))


def results(report: LinkReport) -> dict[str, LinkResult]:
    return {result["url"]: result for result in report["results"]}


def verdict(result: LinkResult) -> tuple[str, str | None]:
    return result["outcome"], result["reason"]


@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    yield from serve(Server())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and the names localhost and rebind.test."""
    return make_certificate(tmp_path_factory.mktemp("tls"), ["localhost", "rebind.test"])


@pytest.fixture
def secure_site(certificate, monkeypatch) -> Iterator[Server]:
    """A site answering both http:// and https://, its certificate trusted by this process."""
    cert_file, key_file = certificate
    monkeypatch.setenv("SSL_CERT_FILE", cert_file)  # read when check_links makes its context
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    yield from serve(Server(tls=context))


@pytest.fixture
def witness() -> Iterator[Listener]:
    """A port on every local address (IPv4 and IPv6) that records each connection to it."""
    with listening("close") as listener:
        yield listener


def test_each_answer_is_reported(site):
    paths = ["/ok", "/missing", "/broken", "/no-head", "/moved", "/loop", "/slow"]
    found = check([f"{site.url}{path}" for path in paths])
    summary = {url.removeprefix(site.url): verdict(result) for url, result in found.items()}
    assert summary == {
        "/ok": ("works", None),
        "/missing": ("broken", "404 Not Found"),
        "/broken": ("broken", "500 Internal Server Error"),
        "/no-head": ("works", None),
        "/moved": ("works", None),
        "/loop": ("broken", "more than 5 redirects"),
        "/slow": NO_ANSWER,
    }


def test_report_says_when_it_was_made_and_nothing_else(site):
    report = check_links([f"{site.url}/ok"], policy=LOOPBACK, timeout=TIMEOUT)
    assert set(report) == {"checked_at", "results", "skipped"}
    assert report["skipped"] is None
    assert dt.datetime.fromisoformat(report["checked_at"]).tzinfo is not None
    assert set(report["results"][0]) == {"url", "outcome", "reason", "https"}


def test_requests_are_head_with_a_get_only_for_servers_refusing_head(site):
    site.seen.clear()
    check([f"{site.url}/ok", f"{site.url}/no-head", f"{site.url}/moved"])
    seen = [(method, path) for method, path, _, _ in site.seen]
    assert sorted(seen) == sorted(
        [("HEAD", "/ok"), ("HEAD", "/no-head"), ("GET", "/no-head"), ("HEAD", "/moved"),
         ("HEAD", "/ok")]
    )  # fmt: skip
    assert {agent for _, _, agent, _ in site.seen} == {USER_AGENT}
    assert {host for _, _, _, host in site.seen} == {f"127.0.0.1:{site.port}"}


def test_http_link_whose_https_form_does_not_answer(site):
    result = check([f"{site.url}/ok"])[f"{site.url}/ok"]
    assert (result["outcome"], result["https"]) == ("works", False)


def test_http_link_whose_https_form_answers(secure_site):
    url = f"{secure_site.url}/ok"
    assert check([url])[url]["https"] is True
    https = url.replace("http://", "https://")
    assert check([https])[https] == {
        "url": https,
        "outcome": "works",
        "reason": None,
        "https": None,
    }


def test_https_names_the_links_host_while_connecting_to_the_address_checked(secure_site):
    """SNI and the Host header carry the name; the certificate is checked against the name
    (127.0.0.1 is in it as well, so checking the address instead would wrongly pass)."""
    url, wrong = (f"https://{name}:{secure_site.port}/ok" for name in ("localhost", "other.test"))
    secure_site.seen.clear()
    found = check([url, wrong], resolve=lambda host: [ipaddress.ip_address("127.0.0.1")])
    assert verdict(found[url]) == ("works", None)
    assert secure_site.names.count("localhost") == 1
    assert ("HEAD", "/ok", USER_AGENT, f"localhost:{secure_site.port}") in secure_site.seen
    outcome, reason = verdict(found[wrong])
    assert outcome == "broken"
    assert (reason or "").startswith("its TLS certificate is not accepted (Hostname mismatch")


def test_unresolvable_host_is_broken(site):
    found = check(["http://no-such-host.invalid/", f"{site.url}/ok"])
    assert verdict(found["http://no-such-host.invalid/"]) == ("broken", "the name does not resolve")


def test_check_is_skipped_when_no_name_resolves():
    report = check_links(["http://no-such-host.invalid/", "https://nor-this.invalid/"])
    assert (
        report["skipped"] == "skipped: this server cannot reach the internet (2 links not checked)"
    )


@pytest.mark.parametrize("behaviour", ["reset", "banner", "silent"])
def test_refused_silent_and_non_http_servers_read_the_same(behaviour):
    """What a port does when it is not a web server does not show: an open port cannot be told
    from a closed one, in the verdict or in whether the whole check counts as skipped."""
    closed = f"http://127.0.0.1:{free_port()}/"
    with listening(behaviour, "127.0.0.1") as listener:
        other = f"http://127.0.0.1:{listener.port}/"
        found = check([closed, other, other.replace("http://", "https://")])
        assert listener.peers  # it was asked
        alone = check_links([other], policy=LOOPBACK, timeout=TIMEOUT)
    assert {verdict(result) for result in found.values()} == {NO_ANSWER}
    assert found[closed]["https"] == found[other]["https"] is False
    assert alone["skipped"] == check_links([closed], policy=LOOPBACK)["skipped"] is None


def test_a_server_with_bad_tls_has_no_answer(site):
    url = site.url.replace("http://", "https://") + "/ok"  # TLS to a plain HTTP server
    assert verdict(check([url])[url]) == NO_ANSWER


def test_only_web_addresses_are_fetched():
    found = check(["file:///etc/hostname", "gopher://127.0.0.1/"])
    assert {verdict(result) for result in found.values()} == {("not checked", "not a web address")}


# Refusals


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1", "[::1]", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0", "[::]", "127.1",
        "2130706433", "10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254",
        "[fe80::1]", "[fd00::1]", "224.0.0.1", "240.0.0.1", "[64:ff9b::7f00:1]",
        "[2002:7f00:1::]",
    ],
)  # fmt: skip
def test_default_policy_refuses_internal_addresses_without_connecting(host, witness):
    url = f"http://{host}:{witness.port}/latest/meta-data/"
    report = check_links([url], timeout=TIMEOUT)  # the production policy
    assert verdict(results(report)[url]) == INTERNAL  # a connection tried would read broken
    assert results(report)[url]["https"] is None
    assert report["skipped"] is None
    assert witness.peers == []


def test_the_witness_sees_a_connection_when_it_is_allowed(witness):
    """The check above can fail: the same port, allowed, is connected to."""
    url = f"http://127.0.0.1:{witness.port}/"
    assert verdict(check([url])[url]) == NO_ANSWER  # it closes without answering
    assert witness.peers


def test_a_name_with_one_internal_address_among_public_ones_is_refused(witness):
    def resolve(host: str) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.2")]

    url = f"http://mixed.test:{witness.port}/"
    assert verdict(check([url], resolve=resolve)[url]) == INTERNAL
    assert witness.peers == []


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.2:{port}/", "http://[::1]:{port}/", "https://0.0.0.0:{port}/",
     "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1:{port}/"],
)  # fmt: skip
def test_a_redirect_to_an_internal_address_is_not_followed(site, witness, target):
    target = target.format(port=witness.port)
    url = f"{site.url}/to/{quote(target, safe='')}"
    site.seen.clear()
    found = check([url])  # 127.0.0.1 alone is allowed: the site, not the redirect's target
    assert verdict(found[url]) == ("not checked", "it redirects to an internal address")
    assert ("HEAD", f"/to/{quote(target, safe='')}") in [(m, p) for m, p, _, _ in site.seen]
    assert witness.peers == []


def test_a_redirect_to_another_scheme_is_not_followed(site):
    url = f"{site.url}/to/{quote('file:///etc/passwd', safe='')}"
    assert verdict(check([url])[url]) == ("not checked", "it redirects to a non-web address")


def test_connects_to_the_address_it_checked_not_a_second_answer(secure_site):
    """A rebinding DNS: the first answer for a name is allowed, every later one is not. The
    request goes to the first answer, and a redirect (same host) is looked up and refused."""
    answers: list[str] = []

    def rebinding(host: str) -> list[IPAddress]:
        answers.append("127.0.0.1" if not answers else "127.0.0.2")
        return [ipaddress.ip_address(answers[-1])]

    with listening("close", "127.0.0.2", secure_site.port) as later:
        base = f"https://rebind.test:{secure_site.port}"
        assert verdict(check([f"{base}/ok"], resolve=rebinding)[f"{base}/ok"]) == ("works", None)
        answers.clear()
        found = check([f"{base}/moved"], resolve=rebinding)
        assert verdict(found[f"{base}/moved"]) == (
            "not checked", "it redirects to an internal address"
        )  # fmt: skip
        assert later.peers == []
    assert answers == ["127.0.0.1", "127.0.0.2"]  # one lookup per request


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True), ("2606:4700::1111", True), ("::ffff:93.184.215.14", True),
        ("64:ff9b::5db8:d70e", True), ("2002:5db8:d70e::1", True),
        ("224.0.0.251", False), ("ff02::fb", False), ("ff0e::1", False),
        ("::ffff:10.0.0.1", False), ("64:ff9b::a00:1", False), ("2002:a9fe:a9fe::", False),
        ("::93.184.215.14", False), ("fec0::1", False), ("2001:db8::1", False),
        ("100.64.0.1", False), ("192.0.2.1", False), ("255.255.255.255", False),
    ],
)  # fmt: skip
def test_public_addresses(address, public):
    """What `is_global` alone gets wrong (multicast, mapped, NAT64, 6to4, site-local, ...)."""
    assert is_public(ipaddress.ip_address(address)) is public


# Time


@pytest.mark.timing
def test_a_server_answering_a_byte_at_a_time_is_cut_off():
    with listening("drip", "127.0.0.1") as drip:
        url = f"http://127.0.0.1:{drip.port}/"
        started = time.monotonic()
        found = check([url], link_seconds=1.0)
        elapsed = time.monotonic() - started
    assert verdict(found[url]) == NO_ANSWER
    assert elapsed < 2.5  # each byte came in time: only the link's deadline ended it


@pytest.mark.timing
def test_the_whole_check_is_bounded():
    with listening("drip", "127.0.0.1") as drip:
        urls = [f"http://127.0.0.1:{drip.port}/{n}" for n in range(20)]
        started = time.monotonic()
        found = check(urls, link_seconds=30.0, check_seconds=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < 2.0
    assert {verdict(result) for result in found.values()} == {
        ("not checked", "the check ran out of time")
    }


def test_a_link_whose_turn_never_came_is_not_checked():
    """At the deadline the pool cancels the asks still queued; those read "not checked"
    (they raised CancelledError when the check ran out of time with some never started)."""
    queued: Future[_Verdict] = Future()
    queued.cancel()
    assert _outcome(queued) == _Verdict(NOT_CHECKED, OUT_OF_TIME)
