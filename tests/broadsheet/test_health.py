"""The warnings an operator is shown, in plain words, from the health facts and the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from broadsheet.health import (
    CampaignComplaints,
    Health,
    MailboxPoll,
    RelayState,
    WorkerState,
    warnings,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WELL = Health(
    workers=(WorkerState("celery@a", NOW),),
    last_task_at=NOW - timedelta(seconds=4),
    last_tick_at=NOW - timedelta(seconds=4),
    relays=(RelayState("relay:25", "ok", NOW),),
    mailbox=MailboxPoll(NOW, True, "nothing new"),
    complaints=(CampaignComplaints(7, "Autumn", 10_000, 30),),  # exactly 0.3%: on the line
)


def with_(**facts: object) -> Health:
    return Health(**{**WELL.__dict__, **facts})


def test_all_well_says_nothing():
    assert warnings(WELL, NOW) == []


def test_no_task_for_five_minutes():
    idle = with_(last_task_at=NOW - timedelta(minutes=5, seconds=1))
    assert warnings(idle, NOW) == ["No worker has taken a task for 5 minutes."]
    assert warnings(with_(last_task_at=NOW - timedelta(minutes=4, seconds=59)), NOW) == []


def test_no_worker_at_all():
    found = warnings(with_(workers=(), last_task_at=None), NOW)
    # Said once: that none has taken a task follows.
    assert found == ["No worker is running: nothing is being sent."]


def test_beat_silent_for_two_minutes():
    (found,) = warnings(with_(last_tick_at=NOW - timedelta(minutes=3)), NOW)
    assert found.startswith("The scheduler (beat) has not ticked for 3 minutes")
    assert warnings(with_(last_tick_at=NOW - timedelta(seconds=119)), NOW) == []


def test_a_refusing_relay_is_named_with_its_error():
    relay = RelayState("relay:25", "refusing", NOW, "[Errno 111] Connection refused", NOW)
    assert warnings(with_(relays=(relay,)), NOW) == [
        "Relay relay:25 refuses connections: [Errno 111] Connection refused."
    ]
    # A relay no longer configured is not warned about.
    assert warnings(with_(relays=(relay,)), NOW, configured_relays=["other:25"]) == []


def test_complaints_above_gmails_line():
    over = CampaignComplaints(8, "Winter", 10_000, 31)
    assert warnings(with_(complaints=(over,)), NOW) == [
        "Campaign 8 (Winter) drew complaints from 0.31% of its readers, above Gmail's 0.3% line."
    ]
    assert warnings(with_(complaints=(CampaignComplaints(9, "New", 0, 0),)), NOW) == []


def test_an_unreadable_bounce_mailbox():
    poll = MailboxPoll(NOW, False, "imap 127.0.0.1:993: login failed")
    assert warnings(with_(mailbox=poll), NOW) == [
        "The bounce mailbox could not be read: imap 127.0.0.1:993: login failed."
    ]
