"""The web's access log keeps no tracking hit: an open pixel's or a click's line would keep
its token (which names the delivery) beside the reader's address and agent, which tracking
promises not to keep. Other requests are logged as before, in text and in JSON."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from broadsheet.tracking.hits import HITS_KEY
from tests.e2e.test_metrics import gunicorn
from tests.support.engagement import tracked_message

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the 302 itself is the answer


def fetch(url: str, method: str = "GET") -> int:
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": AGENT}, method=method)
    try:
        with opener.open(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_pixels_and_clicks_leave_no_access_line(committed, settings, stack, tmp_path, log_format):
    _, _, token = tracked_message(committed, settings)
    forged = ("B" if token[5] != "B" else "C").join((token[:5], token[6:]))
    log = tmp_path / "web.log"
    with gunicorn(workers=1, log_path=log, LOG_FORMAT=log_format) as base:
        assert fetch(f"{base}/t/{token}.gif") == 200  # answered before Flask
        assert fetch(f"{base}/t/{token}/0") == 302
        assert fetch(f"{base}/t/{token}/0", "HEAD") == 302
        assert fetch(f"{base}/t/{forged}/0") == 400  # answered by Flask's route
        assert fetch(f"{base}/t/{token}/99") == 404
        assert fetch(f"{base}/healthz") == 200
    assert stack["redis"].client().llen(HITS_KEY) == 2  # the open and the click were counted
    text = log.read_text()
    if log_format == "json":
        access = [line["message"] for line in map(json.loads, text.splitlines())
                  if line["logger"] == "gunicorn.access"]  # fmt: skip
    else:
        access = [line for line in text.splitlines() if '"GET ' in line or '"HEAD ' in line]
    assert any("/healthz" in line and AGENT in line for line in access), text
    assert "/t/" not in text and token[:20] not in text and forged[:20] not in text
