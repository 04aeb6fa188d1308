"""The campaign's HTML made trackable, once per campaign: every http(s) link but the reader's
own (unsubscribe, archive, any page under PUBLIC_URL) points to `/t/<token>/<index>`, a 1x1
pixel `/t/<token>.gif` is added, and a honeypot link no person sees or reaches (hidden, out of
the tab order and of the accessibility tree) whose index is one past the last link.

The token is the placeholder TRACK_PLACEHOLDER, filled per message by the skeleton. The
text/plain part is left as it is: plain-text readers see the real addresses they click."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

TRACK_PLACEHOLDER = "BSxTRACKxBS"
# The opening tag of a link and its href, quoted either way (premailer writes double quotes).
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_PERSONAL = re.compile(r"BSx[A-Z]+xBS")


@dataclass(frozen=True)
class Trackable:
    """The HTML with links wrapped and the pixel added, and the links by index."""

    html: str
    links: list[str]

    @property
    def honeypot(self) -> int:
        return len(self.links)


def tracked_links(source: str, public_url: str) -> list[str]:
    """The links of `source` that tracking wraps, each once, in order of first appearance."""
    return make_trackable(source, public_url).links


def make_trackable(source: str, public_url: str) -> Trackable:
    """`source` (the campaign's inlined HTML) with its links wrapped, the pixel and the
    honeypot added; the same HTML always gives the same links and indices."""
    links: dict[str, int] = {}
    base = f"{public_url}/t/{TRACK_PLACEHOLDER}"

    def wrap(match: re.Match[str]) -> str:
        url = html.unescape(match.group(3)).strip()
        if not _is_tracked(url, public_url):
            return match.group(0)
        index = links.setdefault(url, len(links))
        return f"{match.group(1)}{match.group(2)}{base}/{index}{match.group(2)}"

    wrapped = _HREF.sub(wrap, source)
    extra = (
        # display:none hides it from people and screen readers; aria-hidden and tabindex say
        # so again for clients that drop styles. Scanners that follow every href take it.
        f'<a href="{base}/{len(links)}" tabindex="-1" aria-hidden="true" '
        'style="display:none;font-size:0;line-height:0;max-height:0;overflow:hidden"></a>'
        f'<img src="{base}.gif" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;margin:0;padding:0">'
    )
    parts = _BODY_END.split(wrapped, maxsplit=1)
    result = f"{parts[0]}{extra}</body>{parts[1]}" if len(parts) == 2 else wrapped + extra
    return Trackable(result, list(links))


def _is_tracked(url: str, public_url: str) -> bool:
    """An http(s) link that is not one of the publication's own reader pages. One with a
    space or a control character is left as it is: no redirect may carry it in a header."""
    lowered = url.lower()
    if not lowered.startswith(("http://", "https://")) or _PERSONAL.search(url):
        return False
    if any(c <= " " or c == "\x7f" for c in url):
        return False
    own = public_url.lower()
    return not (lowered == own or lowered.startswith((own + "/", own + "?", own + "#")))
