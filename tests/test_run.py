"""`broadsheet run` (what `make run` starts): the embedded setup serves the signup page, mail
lands in the catcher's Maildir, and Ctrl-C stops every process it started."""

from __future__ import annotations

import http.cookiejar
import mailbox
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.services import make_tempdir
from tests.support.smtp import free_port

EXTERNAL = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "PUBLIC_URL", "SECRET_KEY", "SEND_RATE")


@pytest.fixture
def running():  # type: ignore[no-untyped-def]
    instance = make_tempdir()
    port, catcher = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL}
    env.update(BROADSHEET_INSTANCE=str(instance), PORT=str(port), CATCHER_PORT=str(catcher))
    log = (instance / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "run"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield proc, instance, f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()


def wait_until(check, timeout: float, what: str, log: Path):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout}s; log:\n{log.read_text()[-4000:]}")


def fetch(opener, url: str, data: dict[str, str] | None = None) -> str | None:  # type: ignore[no-untyped-def]
    body = urllib.parse.urlencode(data).encode() if data else None
    try:
        with opener.open(url, data=body, timeout=5) as answer:
            return answer.read().decode()
    except OSError:
        return None


def test_run_serves_signup_and_mail_reaches_the_maildir(running):
    proc, instance, base = running
    log = instance / "run.log"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = wait_until(lambda: fetch(opener, f"{base}/subscribe"), 90, "signup page up", log)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = fetch(opener, f"{base}/subscribe", {"email": "ann@example.org", "csrf_token": token})
    assert answer and "Check your inbox" in answer

    maildir = instance / "mail"
    mails = wait_until(
        lambda: maildir.exists() and list(mailbox.Maildir(maildir, create=False)),
        60, "confirmation mail in the Maildir", log,
    )  # fmt: skip
    text = mails[0].as_string()
    assert "Delivered-To: ann@example.org" in text
    assert f"{base}/confirm/" in text
    banner = log.read_text()
    assert re.search(r"API token\s+bs_\S+", banner)
    assert "create-admin you@example.org" in banner, "says how to make the first admin"
    assert fetch(opener, f"{base}/admin/login"), "the admin answers"

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    assert proc.wait(30) is not None
    leftovers = subprocess.run(
        ["pgrep", "-f", str(instance)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert leftovers == [], f"processes still running: {leftovers}"
