"""The reader pages wear the publication's name and look: its logo in the masthead (its alt
text naming it) and its accent, a lighter shade in dark mode, set from parsed numbers."""

from __future__ import annotations

from broadsheet.services.publication import save_publication
from tests.web.public.test_preferences import reader_in_two

LOGO = "https://cdn.example.org/gazette/logo.png"


def test_reader_pages_show_the_name_logo_and_accent(client, committed, settings):
    _, preferences = reader_in_two(committed, settings)
    page = client.get("/subscribe").get_data(as_text=True)
    assert "The Test Gazette</a>" in page and "--accent" not in page  # stock look
    save_publication(committed, "", "", name="The Gazette", logo_url=LOGO,
                     logo_alt="The Gazette", accent="#2F7D5B")  # fmt: skip
    committed.commit()
    for path in ("/subscribe", preferences, preferences.replace("preferences", "unsubscribe"),
                 "/archive"):  # fmt: skip
        page = client.get(path).get_data(as_text=True)
        assert f'<img class="logo" src="{LOGO}" alt="The Gazette">' in page, path
        assert "--accent: #2f7d5b;" in page and "--accent: #59977c;" in page, path
        assert "· The Gazette</title>" in page or "<title>The Gazette" in page, path
