"""Each sender's export is recognised by its header, and its columns mapped: the address,
the name, and what says a reader left or bounced there."""

from __future__ import annotations

import json

import pytest

from broadsheet.errors import ValidationError
from broadsheet.imports.extras import row_attributes, row_tags
from broadsheet.imports.formats import map_columns
from broadsheet.models import SubscriberStatus as S

CASES = [
    # (header, sender, address column, a row, the status it says (None: subscribed))
    (
        "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,CONFIRM_TIME,LEID,TAGS",
        "Mailchimp",
        "Email Address",
        "a@example.org,A,B,2,,,1,",
        None,
    ),
    (
        "Email Address,First Name,Last Name,MEMBER_RATING,UNSUB_TIME,UNSUB_CAMPAIGN_TITLE,"
        "UNSUB_REASON",
        "Mailchimp",
        "Email Address",
        "a@example.org,A,B,2,2024-01-01 10:00:00,Weekly,NORMAL",
        S.UNSUBSCRIBED,
    ),
    (
        "Email Address,First Name,Last Name,MEMBER_RATING,CLEAN_TIME,CLEAN_CAMPAIGN_TITLE",
        "Mailchimp",
        "Email Address",
        "a@example.org,A,B,2,2024-01-01 10:00:00,Weekly",
        S.BOUNCED,
    ),
    (
        "email,active_subscription,expiry,plan,email_disabled,created_at",
        "Substack",
        "email",
        "a@example.org,false,,,true,2024-01-01",
        S.UNSUBSCRIBED,
    ),
    (
        "email,active_subscription,expiry,plan,email_disabled,created_at",
        "Substack",
        "email",
        "a@example.org,true,2025-01-01,yearly,false,2024-01-01",
        None,
    ),
    (
        "id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,"
        "created_at,labels",
        "Ghost",
        "email",
        "1,a@example.org,Ann,,false,,,2024-01-01,",
        S.UNSUBSCRIBED,
    ),
    (
        "email,status,created_at,subscription_tier,utm_source,utm_medium,referring_site",
        "beehiiv",
        "email",
        "a@example.org,inactive,2024-01-01,free,,,",
        S.UNSUBSCRIBED,
    ),
    (
        "email,status,created_at,subscription_tier,utm_source,utm_medium,referring_site",
        "beehiiv",
        "email",
        "a@example.org,validating,2024-01-01,free,,,",
        S.PENDING,
    ),
    (
        "email,subscriber_type,creation_date,notes,tags,metadata",
        "Buttondown",
        "email",
        "a@example.org,undeliverable,2024-01-01,,,",
        S.BOUNCED,
    ),
    (
        "email,subscriber_type,creation_date,notes,tags,metadata",
        "Buttondown",
        "email",
        "a@example.org,regular,2024-01-01,,,",
        None,
    ),
    (
        "uuid,email,name,attributes,status,created_at,updated_at",
        "listmonk",
        "email",
        "u,a@example.org,Ann,{},blocklisted,2024-01-01,2024-01-01",
        S.UNSUBSCRIBED,
    ),
    ("email,name", "plain CSV", "email", "a@example.org,Ann", None),
]


@pytest.mark.parametrize(("header", "sender", "column", "row", "status"), CASES)
def test_each_senders_export_is_recognised(header, sender, column, row, status):
    columns = header.split(",")
    mapping = map_columns(columns)
    assert (mapping.source, columns[mapping.email]) == (sender, column)
    assert mapping.status(row.split(",")) == status
    assert {c for c, _ in mapping.ignored} | {c for c, _ in mapping.used} == set(columns)


def test_mailchimp_names_are_first_and_last_tags_are_tags_the_rest_attributes():
    mapping = map_columns(["Email Address", "First Name", "Last Name", "MEMBER_RATING", "TAGS"])
    assert mapping.names == (1, 2)
    assert mapping.used[-2:] == [("MEMBER_RATING", "attribute member_rating"), ("TAGS", "tags")]
    assert mapping.ignored == []
    row = ["a@example.org", "A", "B", "2", '"weekly", News Letter']
    assert row_tags(mapping.extras, row) == ("weekly", "news letter")
    assert row_attributes(mapping.extras, row) == '{"member_rating": "2"}'


def test_other_columns_become_attributes_named_safely_empty_cells_left_out():
    header = ["email", "First Purchase", "Ville d'été", "2024 spend", "!!", "first-purchase",
              "import_line", "import_reason", "created_at", "labels"]  # fmt: skip
    mapping = map_columns(header)
    assert mapping.extras.attributes == ((1, "first_purchase"), (2, "ville_d_ete"),
                                         (3, "_2024_spend"))  # fmt: skip
    assert [c for c, _ in mapping.ignored] == [
        "!!", "first-purchase", "import_line", "import_reason", "created_at"
    ]  # fmt: skip
    assert "First Purchase" in dict(mapping.ignored)["first-purchase"]
    assert mapping.extras.tags == 9  # Ghost's labels
    row = ["a@example.org", " 2024-01-02 ", "", "12", "x", "y", "3", "why", "2024", ""]
    assert json.loads(row_attributes(mapping.extras, row) or "") == {
        "first_purchase": "2024-01-02", "_2024_spend": "12"
    }  # fmt: skip
    assert row_tags(mapping.extras, row) == ()
    assert row_attributes(mapping.extras, ["b@example.org"]) is None  # a short row


def test_a_json_attributes_column_keeps_its_types_and_bad_cells_name_their_field():
    mapping = map_columns(["email", "name", "status", "created_at", "tags", "attributes"])
    assert mapping.source == "Broadsheet"
    row = ["a@example.org", "A", "active", "", "donor,city:lyon", '{"plan": "paid", "n": 3}']
    assert json.loads(row_attributes(mapping.extras, row) or "") == {"plan": "paid", "n": 3}
    assert row_tags(mapping.extras, row) == ("donor", "city:lyon")
    for cells, field in (([*row[:5], "[1]"], "attributes"), ([*row[:5], "{nope"], "attributes"),
                         ([*row[:4], "ok,Not OK!", ""], "tags")):  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            row_attributes(mapping.extras, cells)
            row_tags(mapping.extras, cells)
        assert list(caught.value.fields) == [field]


def test_a_status_word_not_known_rejects_the_row_not_the_file():
    mapping = map_columns(["email", "status"])
    with pytest.raises(ValidationError) as caught:
        mapping.status(["a@example.org", "maybe"])
    assert caught.value.fields == {"status": "unknown status 'maybe'"}


def test_a_header_without_an_address_column_is_refused():
    with pytest.raises(ValidationError) as caught:
        map_columns(["name", "city"])
    assert "no column of addresses" in caught.value.fields["file"]
