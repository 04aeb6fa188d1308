"""Reader fields an editor writes in an article or a subject: `{{ reader.name }}` and
`{{ reader.attributes.city }}`, each with an optional `| default("friend")`.

Render-once holds: before the campaign's email is rendered, each expression becomes a
placeholder that carries its own field and fallback (base32, so letters and digits only,
which pass Jinja2, premailer and quoted-printable unchanged), and the skeleton fills it per
reader (broadsheet/mail/skeleton.py) from the attributes loaded with the batch. Nothing else
may stand between `{{` and `}}`: `problems` names what cannot be filled in. Code is shown as
written: between <code> or <pre> tags (Markdown's code spans and blocks) nothing is filled in
or refused, so an article may show template syntax, `{{ reader.name }}` included.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_FALLBACK = 100
MAX_VALUE = 200  # of a reader's value as shown
_NAME = r"[A-Za-z_][A-Za-z0-9_-]{0,63}"
# The fallback's quotes may come back from Markdown as entities.
_QUOTED = r'"(?P<dq>[^"<>\n]*?)"|&quot;(?P<eq>[^"<>\n]*?)&quot;|\'(?P<sq>[^\'<>\n]*?)\''
_EXPRESSION = re.compile(
    r"\{\{\s*reader\.(?P<field>name|attributes\." + _NAME + r")\s*"
    r"(?:\|\s*default\(\s*(?:" + _QUOTED + r")\s*\)\s*)?\}\}"
)
_ANY = re.compile(r"\{\{(.{0,80}?)\}\}", re.DOTALL)
# Code, shown as written: an element with its content (a <pre> holds its <code> whole).
_CODE = re.compile(r"<(pre|code)(?=[\s/>])[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
# The placeholder: BSxR, the field and the fallback in base32 (no padding), xBS.
PLACEHOLDER = re.compile(r"BSxR([A-Z2-7]+)x([A-Z2-7]*)xBS")


@dataclass(frozen=True)
class Field:
    """One reader field: "name" or "attributes.<key>", and what to show when it is empty."""

    path: str
    fallback: str

    def value(self, name: str, attributes: Mapping[str, object] | None) -> str:
        """The reader's value as text (one line, at most MAX_VALUE characters), or the
        fallback when they have none (missing, empty, or not a plain value)."""
        if self.path == "name":
            found: object = name
        else:
            found = (attributes or {}).get(self.path.removeprefix("attributes."))
        if isinstance(found, bool) or not isinstance(found, str | int | float):
            return self.fallback
        text = " ".join(str(found).split())[:MAX_VALUE]
        return text or self.fallback


def placeholders(text: str, *, html_escaped: bool) -> str:
    """`text` with each reader expression turned into its placeholder; unknown `{{ }}` left
    as written (`problems` names them). `html_escaped`: the text is HTML, its fallbacks'
    entities are read as the characters they stand for, and its code is left as written;
    otherwise it is plain text (a subject), where `<code>` is only what someone typed."""

    def placeholder(found: re.Match[str]) -> str:
        fallback = found.group("dq") or found.group("eq") or found.group("sq") or ""
        if html_escaped:
            fallback = html.unescape(fallback)
        return encode(Field(found.group("field"), fallback))

    if not html_escaped:
        return _EXPRESSION.sub(placeholder, text)
    return _outside_code(text, lambda prose: _EXPRESSION.sub(placeholder, prose))


def problems(text: str, *, html_escaped: bool) -> list[str]:
    """Each `{{ … }}` in `text` that is not a reader field Broadsheet can fill in, as the
    editor wrote it. `html_escaped`: the text is HTML (placeholders), whose code is left out
    and whose entities count as the characters they stand for."""
    prose = _CODE.sub(" ", text) if html_escaped else text
    plain = html.unescape if html_escaped else str
    bad = [plain(f"{{{{{m.group(1)}}}}}") for m in _ANY.finditer(_EXPRESSION.sub("", prose))]
    long = [
        plain(m.group(0))
        for m in _EXPRESSION.finditer(prose)
        if len(plain(_fallback(m))) > MAX_FALLBACK
    ]
    return list(dict.fromkeys([*bad, *long]))


def unfilled(subject: str, markup: str) -> list[str]:
    """What readers would see as written in a message: each `{{ … }}` of its subject (text)
    and its HTML (outside code) that is no reader field, once each."""
    found = [*problems(subject, html_escaped=False), *problems(markup, html_escaped=True)]
    return list(dict.fromkeys(found))


def explain(found: list[str]) -> str:
    """The sentence an editor reads about `problems`."""
    shown = ", ".join(found[:3]) + (" and more" if len(found) > 3 else "")
    return (
        f"cannot fill in {shown}: write {{{{ reader.name }}}} or {{{{ reader.attributes.city }}}}, "
        f'with | default("a fallback") of at most {MAX_FALLBACK} characters if you like'
    )


def without_reader(text: str) -> str:
    """HTML `text` as someone who is no reader sees it (the archive): each field's fallback."""

    def fallback(found: re.Match[str]) -> str:
        return html.escape(html.unescape(_fallback(found)))

    return _outside_code(text, lambda prose: _EXPRESSION.sub(fallback, prose))


def encode(field: Field) -> str:
    return f"BSxR{_b32(field.path)}x{_b32(field.fallback)}xBS"


def decode(placeholder: str) -> Field:
    found = PLACEHOLDER.fullmatch(placeholder)
    if found is None:
        raise ValueError(f"not a reader placeholder: {placeholder!r}")
    return Field(_unb32(found.group(1)), _unb32(found.group(2)))


def _outside_code(text: str, change: Callable[[str], str]) -> str:
    """`text` with each stretch outside code changed by `change`, the code kept as it is."""
    parts: list[str] = []
    last = 0
    for code in _CODE.finditer(text):
        parts += [change(text[last : code.start()]), code.group(0)]
        last = code.end()
    return "".join([*parts, change(text[last:])])


def _fallback(found: re.Match[str]) -> str:
    return found.group("dq") or found.group("eq") or found.group("sq") or ""


def _b32(text: str) -> str:
    return base64.b32encode(text.encode()).decode().rstrip("=")


def _unb32(text: str) -> str:
    return base64.b32decode(text + "=" * (-len(text) % 8)).decode()
