"""The operator's trial: what an operator sees of a campaign sent to 5,000 readers at
SEND_RATE=100 while the relay refuses one domain, then a reader's open and click, a
machine's open and a scanner's look, and /metrics.

The product runs as `broadsheet run` runs it: a Celery worker, beat and `broadsheet web` (2
gunicorn processes), on PostgreSQL (a fresh database, dropped afterwards) and a Redis of the
stack's own (_stack.Stack). The relay is an aiosmtpd server in this process that refuses every
reader at refused.example with a policy reply (4% of the readers, under PAUSE_FAILURE_RATE)
and keeps the messages of the first readers at example.org, to open and click them. The
readers are added through the API, one request each; the campaign is made and sent through the
API. While it sends, the campaign page's progress JSON (its `fragments` are the parts the page
swaps in) is read over HTTP as a signed-in operator, every 2 s: done, sent, failed, the rate
now and the estimated finish, as they move. Then the failures grouped by domain with the
relay's reply; a reader opens the message (a browser's agent) and clicks its link (human),
Apple's proxy fetches another reader's pixel (a bare `Mozilla/5.0`: a machine's open), a
scanner sends HEAD to a third reader's link (nothing counted); once beat's drain has written
them, the campaign's counts in the API; and the message counts in /metrics. It exits 1 when a
figure is not what the trial expects.

    .venv/bin/python bench/operator_trial.py [--readers 5000] [--send-rate 100]
                                       [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--redis-url redis://127.0.0.1:6379/<n>]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import html
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _admin import api_call, signed_in_opener
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from broadsheet.tracking.verdicts import CLICK_TOO_SOON

from _stack import BIN, Process, Stack, code_line, free_port, machine_line
from send import ARTICLE

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
REFUSED_DOMAIN = "refused.example"
REFUSAL = f"550 5.7.1 <{{}}>: Recipient address rejected: {REFUSED_DOMAIN} takes no mail from you"
KEPT = 3  # readers whose messages the relay keeps: a reader, Apple's proxy, a scanner
OPERATOR, PASSWORD = "operator@example.org", "operator-trial-password"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SCANNER = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
TRACKED = re.compile(r'href="(https?://[^"]*/t/[^"]+)"')
PIXEL = re.compile(r'<img src="(https?://[^"]*/t/[^"]+\.gif)"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=5000, help="readers added by the API")
    parser.add_argument("--send-rate", type=float, default=100, help="SEND_RATE (messages/s)")
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    parser.add_argument("--redis-url", default=None, help="a Redis database (default: bundled)")
    return parser.parse_args()


class Relay:
    """An aiosmtpd relay (a Stack's sink): refuses every reader at REFUSED_DOMAIN at RCPT,
    accepts the rest and keeps the messages of the `keep` addresses."""

    def __init__(self, keep: set[str]) -> None:
        self.keep, self.kept = keep, dict[str, str]()
        self.accepted = 0
        self.lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}"

    @property
    def pid(self) -> int:
        return os.getpid()

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return REFUSAL.format(address)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.accepted += len(envelope.rcpt_tos)
            for rcpt in envelope.rcpt_tos:
                if rcpt.lower() in self.keep:
                    self.kept[rcpt.lower()] = html_part(envelope.original_content or b"")
        return "250 2.0.0 queued"


class Web:
    """The web's API (a token) and pages (an operator signed in), over HTTP."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.pages: urllib.request.OpenerDirector | None = None

    def api(self, method: str, path: str, body: object = None) -> dict[str, Any]:
        return api_call(self.base, self.token, method, path, body)

    def page_json(self, path: str) -> dict[str, Any]:
        assert self.pages is not None, "sign in first"
        with self.pages.open(f"{self.base}{path}", timeout=30) as answer:
            found: dict[str, Any] = json.loads(answer.read())
            return found

    def hit(self, url: str, agent: str, method: str = "GET") -> int:
        """A mail client's request for a pixel or a link (a redirect is not followed)."""
        path = "/t/" + url.split("/t/", 1)[1]
        request = urllib.request.Request(
            self.base + path, headers={"User-Agent": agent}, method=method
        )
        try:
            with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return exc.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 302 is the answer


def html_part(message: bytes) -> str:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    part = parsed.get_body(preferencelist=("html",))
    return str(part.get_content()) if part is not None else ""


def text_of(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def pace_of(fragment: str) -> tuple[str, str]:
    """The rate now and the estimated finish, as the page's "pace" part shows them."""
    found = {
        name: text_of(value)
        for name, value in re.findall(r'data-pace="(\w+)">(.*?)</dd>', fragment, re.S)
    }
    return found.get("rate", "-"), found.get("finish", "-")


def domain_rows(fragment: str) -> list[str]:
    """The failures grouped by the reader's domain, a line each: domain, deliveries, reply."""
    table = fragment.split('id="failures-by-domain"', 1)[-1].split("</table>", 1)[0]
    return [text_of(row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "broadsheet"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"broadsheet {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def wait_for(base: str, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base + path, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def address(n: int) -> str:
    return f"reader{n}@{REFUSED_DOMAIN if n % 25 == 24 else 'example.org'}"


def main() -> int:
    args = parse_args()
    print("== Broadsheet operator's trial ==")
    print(machine_line())
    print(code_line())
    relay = Relay({address(n) for n in range(KEPT)})
    with Stack(
        database_url=args.database_url, send_rate=args.send_rate, batch_size=100, sink=relay,
        redis_url=args.redis_url,
    ) as stack:  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        stack.env["PUBLIC_URL"] = base
        cli(stack.env, "create-admin", OPERATOR, "--password", PASSWORD, "--role", "operator")
        token = cli(stack.env, "create-token", "operator-trial").strip().splitlines()[-1]
        stack.start_worker(concurrency=2)
        beat = Process("beat", [str(BIN / "broadsheet"), "beat"], env=stack.env,
                       log=stack.workdir / "beat.log")  # fmt: skip
        try:
            stack.start_web(port, workers=2)
            wait_for(base, "/healthz")
            return trial(Web(base, token), relay, args)
        finally:
            beat.stop()


def trial(web: Web, relay: Relay, args: argparse.Namespace) -> int:
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: web.api("POST", "/subscribers", {
            "email": address(n), "name": f"Reader {n}", "status": "active"}),
            range(args.readers)))  # fmt: skip
    refused = sum(1 for n in range(args.readers) if address(n).endswith(REFUSED_DOMAIN))
    print(f"{args.readers:,} readers added through the API in {time.monotonic() - started:.1f} s "
          f"({refused:,} at {REFUSED_DOMAIN}, which the relay refuses); SEND_RATE="
          f"{args.send_rate:g}")  # fmt: skip
    article = web.api("POST", "/articles", ARTICLE)
    campaign_id = web.api("POST", "/campaigns", {"article_id": article["id"]})["id"]
    web.pages = signed_in_opener(web.base, OPERATOR, PASSWORD)
    web.api("POST", f"/campaigns/{campaign_id}/send")
    sent_at = time.monotonic()
    print("\nthe campaign page's progress, read every 2 s as it polls:")
    print(f"  {'t':>5}  {'status':<8} {'done':>12} {'sent':>7} {'failed':>7}  rate now   finish")
    progress: dict[str, Any] = {}
    while time.monotonic() - sent_at < 30 + 3 * args.readers / args.send_rate:
        progress = web.page_json(f"/admin/campaigns/{campaign_id}/progress")
        counts, fragments = progress["counts"], progress["fragments"]
        rate, finish = pace_of(fragments.get("pace", ""))
        print(f"  {time.monotonic() - sent_at:5.1f}  {progress['status']:<8} "
              f"{progress['done']:>5,} of {counts['total']:<5,} {counts['sent']:>7,} "
              f"{counts['failed']:>7,}  {rate:<9}  {finish}", flush=True)  # fmt: skip
        if progress["status"] not in ("sending", "scheduled") and counts["total"]:
            break
        time.sleep(2)
    counts = progress["counts"]
    timing = progress.get("finished") or {}
    print(f"\nended {progress['status']}: {counts['sent']:,} sent, {counts['failed']:,} failed, "
          f"{counts['bounced']:,} bounced, {counts['unknown']:,} unknown; took "
          f"{timing.get('took', '?')}, on average {timing.get('pace', '?')}")  # fmt: skip
    rows = domain_rows(progress["fragments"].get("failures", ""))
    print("failures by the reader's domain, as the page groups them:")
    for row in rows[1:]:  # the header first
        print(f"  {row}")

    problems = []
    if counts["sent"] != args.readers - refused or counts["failed"] != refused:
        problems.append(f"expected {args.readers - refused} sent and {refused} failed")
    if not any(row.startswith(f"{REFUSED_DOMAIN} {refused:,} 550 5.7.1") for row in rows):
        problems.append(f"no group of {refused} failures under {REFUSED_DOMAIN} with its reply")
    problems += engagement(web, relay, campaign_id, sent_at)
    problems += metrics(web, args.readers - refused, refused)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("ok" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def engagement(web: Web, relay: Relay, campaign_id: int, sent_at: float) -> list[str]:
    """A reader opens and clicks, Apple's proxy opens another's, a scanner HEADs a third's
    link; the campaign's counts once beat's drain wrote the hits. The reader clicks no
    sooner than CLICK_TOO_SOON after the send began: sooner is a gateway's click."""
    messages = [relay.kept[address(n)] for n in range(KEPT)]
    pixels = [PIXEL.findall(message)[0] for message in messages]
    links = [TRACKED.findall(message)[0] for message in messages]
    print("\nafter the send:")
    time.sleep(max(0.0, sent_at + CLICK_TOO_SOON + 1 - time.monotonic()))
    for what, status in [
        ("a reader opens (a browser's agent)", web.hit(pixels[0], FIREFOX)),
        ("the reader clicks its link", web.hit(links[0], FIREFOX)),
        ("Apple's proxy fetches a second reader's pixel", web.hit(pixels[1], "Mozilla/5.0")),
        ("a scanner sends HEAD to a third reader's link", web.hit(links[2], SCANNER, "HEAD")),
    ]:
        print(f"  {what}: {status}")
    expected = {"opened": 2, "opened_human": 1, "clicked": 1, "clicked_human": 1}
    deadline = time.monotonic() + 30
    while True:
        counts = web.api("GET", f"/campaigns/{campaign_id}")["counts"]
        found = {name: counts[name] for name in expected}
        if found == expected or time.monotonic() > deadline:
            break
        time.sleep(1)
    print(f"  the campaign's counts (API), once drained: {found}")
    return [] if found == expected else [f"engagement {found}, expected {expected}"]


def metrics(web: Web, sent: int, failed: int) -> list[str]:
    """The message counts /metrics gives, by outcome (over every relay)."""
    with urllib.request.urlopen(f"{web.base}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    by_outcome: dict[str, float] = {}
    for outcome, value in re.findall(
        r'^broadsheet_messages_total\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$', text, re.M
    ):
        by_outcome[outcome] = by_outcome.get(outcome, 0) + float(value)
    opens = dict(re.findall(r'^broadsheet_opens_total\{verdict="(\w+)"\} (\S+)$', text, re.M))
    clicks = dict(re.findall(r'^broadsheet_clicks_total\{verdict="(\w+)"\} (\S+)$', text, re.M))
    print(f"\n/metrics: messages by outcome {by_outcome}; opens {opens}; clicks {clicks}")
    if by_outcome.get("sent") != sent or by_outcome.get("failed") != failed:
        return [f"/metrics counted {by_outcome}, expected {sent} sent and {failed} failed"]
    return []


if __name__ == "__main__":
    sys.exit(main())
