"""Sanitized article HTML to readable plain text, for the text/plain part of emails."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "figure", "table", "caption"}
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_SKIP = frozenset({"script", "style", "head", "title"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


def html_to_text(html: str) -> str:
    """Render an HTML fragment as plain text: blank lines between blocks, links as `text (url)`."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    return writer.text()


class _TextWriter(HTMLParser):
    """Collects inline text into paragraphs and writes them out under the current line prefixes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.inline: list[str] = []
        self.gap = 0  # newlines owed before the next line: 1 = line break, 2 = blank line
        self.prefixes: list[list[str]] = []  # [first line, later lines] per quote or list item
        self.lists: list[int | None] = []  # next number per open <ol>, None for <ul>
        self.links: list[tuple[str, int]] = []  # (href, start index in self.inline)
        self.cells = 0
        self.pre = 0
        self.skip = 0

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines).strip("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCKS or tag in _HEADINGS or tag == "pre":
            self._block(2)
            self.pre += tag == "pre"
        elif tag in ("ul", "ol"):
            self._block(1 if self.lists else 2)
            self.lists.append(_int(attr.get("start"), 1) if tag == "ol" else None)
        elif tag == "li":
            self._block(1)
            number = self.lists[-1] if self.lists else None
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                self.lists[-1] = number + 1
            self.prefixes.append([marker, " " * len(marker)])
        elif tag == "blockquote":
            self._block(2)
            self.prefixes.append(["> ", "> "])
        elif tag in ("tr", "figcaption"):
            self._block(1)
            self.cells = 0
        elif tag in ("td", "th"):
            if self.cells:
                self.inline = ["".join(self.inline).rstrip(), " | "]
            self.cells += 1
        elif tag == "br":
            self.inline.append("\n")
        elif tag == "hr":
            self._block(2)
            self._emit(["* * *"])
            self.gap = 2
        elif tag == "img" and attr.get("alt"):
            self.inline.append(f"[{attr['alt']}]")
        elif tag == "a":
            self.links.append((attr.get("href") or "", len(self.inline)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _HEADINGS:
            self._flush(underline=True)
            self.gap = 2
        elif tag in _BLOCKS or tag == "pre" or tag == "blockquote":
            self._block(2)
            self.pre = max(0, self.pre - (tag == "pre"))
            if tag == "blockquote" and self.prefixes:
                self.prefixes.pop()
        elif tag in ("ul", "ol"):
            self._block(2 if len(self.lists) <= 1 else 1)
            if self.lists:
                self.lists.pop()
        elif tag == "li":
            self._block(1)
            if self.prefixes:
                self.prefixes.pop()
        elif tag in ("tr", "figcaption"):
            self._block(1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            href = href.removeprefix("mailto:")
            label = _SPACES.sub(" ", "".join(self.inline[start:])).strip()
            if href and not href.startswith("#") and href != label:
                self.inline.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.inline.append(data if self.pre else _SPACES.sub(" ", data))

    def _block(self, gap: int) -> None:
        self._flush()
        self.gap = max(self.gap, gap)

    def _flush(self, *, underline: bool = False) -> None:
        raw = "".join(self.inline)
        self.inline = []
        if self.pre:
            lines = raw.strip("\n").split("\n")
        else:
            lines = [line.strip() for line in raw.strip().split("\n")]
        if not any(lines):
            return
        if underline:
            lines.append("-" * max(len(line) for line in lines))
        self._emit(lines)

    def _emit(self, lines: list[str]) -> None:
        later = "".join(p[1] for p in self.prefixes)
        if self.lines and self.gap:
            blank = later.rstrip()
            blank = blank if blank and self.lines[-1].startswith(blank) else ""
            self.lines.extend([blank] * (self.gap - 1))
        first = "".join(p[0] for p in self.prefixes)
        for prefix in self.prefixes:
            prefix[0] = prefix[1]  # a list marker is written once, then indentation
        for index, line in enumerate(lines):
            self.lines.append(((first if index == 0 else later) + line).rstrip())
        self.gap = 0


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default
