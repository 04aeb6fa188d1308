"""Display names as readers, imports and editors give them (broadsheet.addresses.clean_name)."""

from __future__ import annotations

import pytest

from broadsheet.addresses import clean_name
from broadsheet.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Ann   Lee ", "Ann Lee"),
        ("Ann\nLee\t(news)", "Ann Lee (news)"),
        ("Zoë\x00\x1fQ", "Zoë Q"),
        (None, ""),
    ],
)
def test_a_name_is_one_printable_trimmed_line(raw, clean):
    assert clean_name(raw) == clean


def test_a_name_too_long_names_the_field():
    with pytest.raises(ValidationError) as caught:
        clean_name("x" * 201, "First Name")
    assert caught.value.fields == {"First Name": "must be at most 200 characters"}
