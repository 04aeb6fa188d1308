"""A publication's or a newsletter's look in its email and on the reader pages: a logo (an
https image with alt text) and an accent colour for links and buttons, with the colours it
becomes in light and dark mode and their WCAG contrast.

Colours are only ever written out from parsed integers (`#rrggbb`), so nothing an admin typed
reaches a stylesheet as it was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIGHT_BACKGROUND = "#ffffff"  # the email's message card (templates/email/_base/body.html)
DARK_BACKGROUND = "#1e1e1e"  # the same card in dark mode
LIGHT_INK, DARK_INK = "#ffffff", "#111418"  # the button's text: whichever reads better
AA = 4.5  # WCAG 2 AA for normal text
MAX_LOGO_URL = 2000
MAX_LOGO_ALT = 200
_HEX = re.compile(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})")
# An absolute https address with nothing in it that needs quoting in HTML or CSS.
_HTTPS = re.compile(r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[!#$%&*-;=?-~]*)?")


@dataclass(frozen=True)
class Look:
    """What a message or page shows of who sends it besides the name; empty: the default."""

    logo_url: str = ""
    logo_alt: str = ""
    accent: str = ""  # "#rrggbb", or "" for the stock colours

    @property
    def colours(self) -> Accent | None:
        return accent_colours(self.accent) if self.accent else None


@dataclass(frozen=True)
class Accent:
    """The accent as used: links and button in light mode, and in dark mode (lifted towards
    white when the colour itself would not read on the dark card)."""

    link: str
    button_text: str
    dark_link: str
    dark_button_text: str


def accent_colours(accent: str, dark_background: str = DARK_BACKGROUND) -> Accent:
    """The colours an accent gives links and buttons, light and dark (ValueError if it is not
    a hex colour)."""
    light = _rgb(accent)
    dark = _lifted(light, _rgb(dark_background))
    return Accent(
        link=_hex(light),
        button_text=_readable_on(light),
        dark_link=_hex(dark),
        dark_button_text=_readable_on(dark),
    )


def contrast_problems(accent: str) -> list[str]:
    """What in the email an accent makes hard to read (WCAG AA, 4.5:1), in words; empty when
    links and buttons read in light and dark mode alike."""
    colours = accent_colours(accent)
    pairs = (
        ("links in light mode", colours.link, LIGHT_BACKGROUND),
        ("button text in light mode", colours.button_text, colours.link),
        ("links in dark mode", colours.dark_link, DARK_BACKGROUND),
        ("button text in dark mode", colours.dark_button_text, colours.dark_link),
    )
    return [
        f"{what} ({int(ratio * 10) / 10:g}:1)"  # rounded down: 4.48 is not 4.5
        for what, fore, back in pairs
        if (ratio := contrast(fore, back)) < AA
    ]


def normal_accent(value: object) -> str:
    """`value` as "#rrggbb" (lower case; "" stays ""); ValueError naming the problem."""
    text = value.strip() if isinstance(value, str) else None
    if text == "":
        return ""
    if text is None or not _HEX.fullmatch(text):
        raise ValueError("must be a colour in hex, such as #0b57b8")
    return _hex(_rgb(text))


def logo_errors(url: object, alt: object) -> dict[str, str]:
    """Problems with a logo's address and alt text, by field: an absolute https address of
    an image (mail apps block others) and, with it, a description."""
    errors: dict[str, str] = {}
    address = url.strip() if isinstance(url, str) else None
    text = alt.strip() if isinstance(alt, str) else None
    if address is None or len(address) > MAX_LOGO_URL:
        errors["logo_url"] = f"must be an address of at most {MAX_LOGO_URL} characters"
    elif address and not _HTTPS.fullmatch(address):
        errors["logo_url"] = "must be a full https:// address, such as https://example.org/logo.png"
    if text is None or len(text) > MAX_LOGO_ALT:
        errors["logo_alt"] = f"must be text of at most {MAX_LOGO_ALT} characters"
    elif address and not text:
        errors["logo_alt"] = "is required with a logo: say what it shows, e.g. the name"
    return errors


def contrast(fore: str, back: str) -> float:
    """The WCAG 2 contrast ratio of two hex colours, 1 to 21."""
    lighter, darker = sorted((_luminance(_rgb(fore)), _luminance(_rgb(back))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _rgb(value: str) -> tuple[int, int, int]:
    found = _HEX.fullmatch(value.strip())
    if found is None:
        raise ValueError(f"not a hex colour: {value!r}")
    digits = found.group(1)
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _lifted(rgb: tuple[int, int, int], background: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour mixed with white, a tenth at a time, until it reads on `background`."""
    for tenth in range(11):
        mixed = tuple(round(c + (255 - c) * tenth / 10) for c in rgb)
        colour = (mixed[0], mixed[1], mixed[2])
        if contrast(_hex(colour), _hex(background)) >= AA:
            return colour
    return 255, 255, 255


def _readable_on(background: tuple[int, int, int]) -> str:
    """White or near-black text, whichever contrasts more with `background`."""
    back = _hex(background)
    return max((LIGHT_INK, DARK_INK), key=lambda ink: contrast(ink, back))
