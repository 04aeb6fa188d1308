"""A rendered email's HTML scanned once for what the pre-send checks look at: its images,
its links and their addresses."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Markup:
    """What `scan` found, each list in document order."""

    images: list[tuple[str | None, str | None]] = field(default_factory=list)  # (src, alt)
    addresses: list[str] = field(default_factory=list)  # every href and src, of any element
    web_links: list[str] = field(default_factory=list)  # a href and img src
    lost_links: list[str] = field(default_factory=list)  # the text of each <a> with no href
    lost_images: int = 0  # <img> with no src


def scan(html: str) -> Markup:
    """Scan `html` (entities decoded in attribute values, as a mail client reads them)."""
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Markup()
        self._lost: list[str] | None = None  # text of the open <a> that has no href

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        for name in ("href", "src"):
            if attr.get(name) is not None:
                self.found.addresses.append(attr[name] or "")
        if tag == "img":
            src = attr.get("src")
            self.found.images.append((src, attr.get("alt")))
            if src:
                self.found.web_links.append(src)
            else:
                self.found.lost_images += 1
        elif tag == "a":
            href = attr.get("href")
            if href:
                self.found.web_links.append(href)
            elif href is None and not (attr.get("name") or attr.get("id")):
                self._lost = []

    def handle_data(self, data: str) -> None:
        if self._lost is not None:
            self._lost.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._lost is not None:
            self.found.lost_links.append(" ".join("".join(self._lost).split()) or "(no text)")
            self._lost = None
