"""An import's tags (given, and the file's own) and attributes (the other columns): new readers
get them; with update, readers already here get them too and join the newsletters named,
while a reader who left stays out of every newsletter."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broadsheet.errors import ValidationError
from broadsheet.imports import import_subscribers
from broadsheet.models import EventSource, Membership, MembershipStatus, Subscriber
from broadsheet.models import SubscriberStatus as S
from broadsheet.services import newsletters, profiles, subscriptions
from tests.broadsheet.imports.exports import csv_bytes

MAILCHIMP = ["Email Address", "First Name", "MEMBER_RATING", "Favourite Colour", "TAGS",
             "UNSUB_TIME"]  # fmt: skip


def reader(db, email: str) -> Subscriber:
    found: Subscriber = db.scalars(select(Subscriber).where(Subscriber.email_key == email)).one()
    return found


def joined(db, email: str) -> dict[str, MembershipStatus]:
    """Their memberships of the weekly and the daily."""
    found = newsletters.memberships(db, reader(db, email).id)
    return {n.slug: m.status for n, m in found if n.slug in ("weekly", "daily")}


def test_new_readers_get_the_tags_given_the_files_tags_and_the_other_columns(db):
    lines = [MAILCHIMP,
             ["ann@example.org", "Ann", "4", "Blue", '"donor", VIP', ""],
             ["bo@example.org", "Bo", "2", "", "", ""],
             ["cy@example.org", "Cy", "", "", "vip", "2024-03-01 09:00:00"]]  # fmt: skip
    summary = import_subscribers(db, csv_bytes(lines), "mc.csv", tags=["From MC", "donor"])
    assert (summary.imported, summary.suppressed) == (2, 1)
    assert ("Favourite Colour", "attribute favourite_colour") in summary.mapping.used
    ann, bo, cy = (reader(db, f"{n}@example.org") for n in ("ann", "bo", "cy"))
    assert profiles.tags_of(db, ann.id) == ["donor", "from mc", "vip"]
    assert profiles.tags_of(db, bo.id) == ["donor", "from mc"]
    assert profiles.tags_of(db, cy.id) == ["donor", "from mc", "vip"]  # left there: tagged still
    assert ann.attributes == {"member_rating": "4", "favourite_colour": "Blue"}
    assert bo.attributes == {"member_rating": "2"}  # empty cells are left out
    assert cy.attributes is None and cy.status == S.UNSUBSCRIBED


def test_a_row_with_a_bad_tag_is_rejected_with_its_reason_and_a_bad_option_refused(db):
    lines = [["email", "tags"], ["ok@example.org", "a"], ["bad@example.org", "a, no!"]]
    summary = import_subscribers(db, csv_bytes(lines), "list.csv")
    assert (summary.imported, summary.rejected) == (1, 1)
    with pytest.raises(ValidationError) as caught:
        import_subscribers(db, csv_bytes(lines), "list.csv", tags=["no way!"])
    assert list(caught.value.fields) == ["tags"]


@pytest.mark.parametrize("update", [False, True])
def test_update_merges_attributes_adds_tags_and_joins_but_never_brings_back(db, update):
    weekly = newsletters.create_newsletter(db, "Weekly")
    daily = newsletters.create_newsletter(db, "Daily")
    ann = subscriptions.create_subscriber(
        db, "ann@example.org", "Ann", status="active", tags=["old"],
        attributes={"city": "Lyon", "plan": "free"},
    )  # fmt: skip
    newsletters.join(db, ann.id, [daily.id])
    newsletters.leave(db, ann.id, daily.id)  # she left the daily: she stays out of it
    gone = subscriptions.create_subscriber(db, "gone@example.org", "Gone", status="active")
    subscriptions.set_status(db, gone, S.UNSUBSCRIBED, source=EventSource.ADMIN)
    same = subscriptions.create_subscriber(db, "same@example.org", "Same", status="active")
    db.flush()
    lines = [["email", "name", "plan", "tags"],
             ["ann@example.org", "", "paid", "donor"],
             ["gone@example.org", "", "paid", ""],
             ["same@example.org", "", "", ""]]  # fmt: skip
    summary = import_subscribers(
        db, csv_bytes(lines), "list.csv", update=update, tags=["spring"],
        newsletter_slugs=["weekly", "daily"],
    )  # fmt: skip
    db.expire_all()
    if not update:
        assert (summary.updated, summary.skipped) == (0, 3)
        assert profiles.tags_of(db, ann.id) == ["old"] and joined(db, "ann@example.org") == {
            "daily": MembershipStatus.UNSUBSCRIBED
        }
        return
    assert (summary.updated, summary.skipped) == (3, 0)  # "same" got the tag given
    ann = reader(db, "ann@example.org")
    assert ann.name == "Ann" and ann.attributes == {"city": "Lyon", "plan": "paid"}
    assert profiles.tags_of(db, ann.id) == ["donor", "old", "spring"]
    assert joined(db, "ann@example.org") == {
        "daily": MembershipStatus.UNSUBSCRIBED, "weekly": MembershipStatus.SUBSCRIBED
    }  # fmt: skip
    gone = reader(db, "gone@example.org")
    assert gone.status == S.UNSUBSCRIBED and joined(db, "gone@example.org") == {}
    assert gone.attributes == {"plan": "paid"}
    assert profiles.tags_of(db, same.id) == ["spring"]
    assert db.scalar(select(Membership.status).where(
        Membership.subscriber_id == same.id, Membership.newsletter_id == weekly.id
    )) == MembershipStatus.SUBSCRIBED  # fmt: skip
    again = import_subscribers(
        db, csv_bytes(lines), "list.csv", update=True, tags=["spring"],
        newsletter_slugs=["weekly", "daily"],
    )  # fmt: skip
    assert (again.updated, again.skipped) == (0, 3)  # nothing left to change
