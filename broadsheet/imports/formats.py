"""Which sender an export comes from, told by its header, and what each of its columns
becomes here: the address, the name, and what says a reader left or bounced there.

Recognised: Mailchimp (its subscribed, unsubscribed and cleaned exports: `UNSUB_TIME` or
`CLEAN_TIME` filled means unsubscribed or cleaned), Substack (`email_disabled`), Ghost
(`subscribed_to_emails`), beehiiv (`status`), Buttondown (`subscriber_type`), listmonk
(`status`, `attributes`), our own export (`broadsheet export-subscribers`), and any file with an
`email` column (and `name`, `status`). The other columns become tags and attributes
(`extras.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from broadsheet.errors import ValidationError
from broadsheet.imports.extras import Extras, map_extras
from broadsheet.models import SubscriberStatus

# What a status column's words mean here: None, subscribed (the import's --status applies).
STATUS_WORDS: dict[str, SubscriberStatus | None] = {
    **dict.fromkeys(
        ("active", "enabled", "subscribed", "regular", "premium", "gifted", "churning",
         "paid", "free", "comp", "complimentary", "trialed", "past_due"),
        None,
    ),
    **dict.fromkeys(
        ("pending", "unconfirmed", "unactivated", "validating", "needs_attention"),
        SubscriberStatus.PENDING,
    ),
    **dict.fromkeys(
        ("unsubscribed", "inactive", "disabled", "blocklisted", "blacklisted", "removed"),
        SubscriberStatus.UNSUBSCRIBED,
    ),
    **dict.fromkeys(
        ("bounced", "cleaned", "invalid", "undeliverable"), SubscriberStatus.BOUNCED
    ),
    **dict.fromkeys(("complained", "spam", "spammy"), SubscriberStatus.COMPLAINED),
}  # fmt: skip
# Columns of beehiiv's export that tell it from a plain file with a status column.
BEEHIIV_ONLY = ("subscription_tier", "utm_source", "utm_medium", "referring_site", "referral_code")
TRUE = frozenset(("true", "t", "yes", "y", "1"))
FALSE = frozenset(("false", "f", "no", "n", "0"))

# A row's status as the old sender had it (None: subscribed), or ValidationError on a field.
StatusRule = Callable[[Sequence[str]], SubscriberStatus | None]


@dataclass(frozen=True)
class Mapping:
    """How one export's columns are read: where the address and the name are, the rule for
    the reader's status there, what the other columns become, and a description of each
    column for the summary."""

    source: str
    email: int
    names: tuple[int, ...]
    status: StatusRule
    extras: Extras = field(default_factory=Extras)
    used: list[tuple[str, str]] = field(default_factory=list)  # (column, what it becomes)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (column, why)


def map_columns(header: Sequence[str]) -> Mapping:
    """The Mapping for an export with this header; ValidationError on `file` when no column
    holds the address."""
    keys = [h.strip().lower() for h in header]
    find = _finder(keys)
    email = find("email address", "email", "e-mail", "email_address", "address")
    if email is None:
        raise ValidationError(
            {"file": "no column of addresses: the header needs one named email (or Email Address)"}
        )
    used = [(header[email], "email")]
    source, rules = _source(keys, find, used, header)
    names = _names(find, used, header)
    taken = {header.index(column) for column, _ in used}
    extras = map_extras(header, taken)
    return Mapping(
        source, email, names, _combined(rules), extras, used + extras.used, extras.ignored
    )


def _finder(keys: list[str]) -> Callable[..., int | None]:
    def find(*names: str) -> int | None:
        for name in names:
            if name in keys:
                return keys.index(name)
        return None

    return find


def _source(
    keys: list[str],
    find: Callable[..., int | None],
    used: list[tuple[str, str]],
    header: Sequence[str],
) -> tuple[str, list[StatusRule]]:
    """The sender the header points to, and its status rules (each column it reads noted)."""
    rules: list[StatusRule] = []

    def rule(column: int | None, what: str, make: Callable[[int], StatusRule]) -> None:
        if column is not None:
            used.append((header[column], what))
            rules.append(make(column))

    if "email address" in keys:
        rule(find("unsub_time"), "unsubscribed when filled", _filled(SubscriberStatus.UNSUBSCRIBED))
        rule(find("clean_time"), "bounced when filled", _filled(SubscriberStatus.BOUNCED))
        return "Mailchimp", rules
    if "active_subscription" in keys or "email_disabled" in keys:
        rule(
            find("email_disabled"),
            "unsubscribed when true",
            _flag(SubscriberStatus.UNSUBSCRIBED, True),
        )
        return "Substack", rules
    if "subscribed_to_emails" in keys:
        rule(
            find("subscribed_to_emails"),
            "unsubscribed when false",
            _flag(SubscriberStatus.UNSUBSCRIBED, False),
        )
        return "Ghost", rules
    if "subscriber_type" in keys:
        rule(find("subscriber_type"), "status", _words)
        return "Buttondown", rules
    rule(find("status"), "status", _words)
    if "attributes" in keys and "tags" in keys and "uuid" not in keys:
        return "Broadsheet", rules
    if "attributes" in keys:
        return "listmonk", rules
    if "status" in keys and any(k in keys for k in BEEHIIV_ONLY):
        return "beehiiv", rules
    return "plain CSV", rules


def _names(
    find: Callable[..., int | None], used: list[tuple[str, str]], header: Sequence[str]
) -> tuple[int, ...]:
    whole = find("name", "full name", "full_name", "display name")
    if whole is not None:
        used.append((header[whole], "name"))
        return (whole,)
    parts = tuple(
        i
        for i in (
            find("first name", "first_name", "fname"),
            find("last name", "last_name", "lname"),
        )
        if i is not None
    )
    used.extend((header[i], "name") for i in parts)
    return parts


def _combined(rules: list[StatusRule]) -> StatusRule:
    """The first rule that says something other than subscribed wins."""

    def status(row: Sequence[str]) -> SubscriberStatus | None:
        for rule in rules:
            found = rule(row)
            if found is not None:
                return found
        return None

    return status


def _cell(row: Sequence[str], column: int) -> str:
    return row[column].strip() if column < len(row) else ""


def _filled(status: SubscriberStatus) -> Callable[[int], StatusRule]:
    def make(column: int) -> StatusRule:
        return lambda row: status if _cell(row, column) else None

    return make


def _flag(status: SubscriberStatus, when: bool) -> Callable[[int], StatusRule]:
    def make(column: int) -> StatusRule:
        def rule(row: Sequence[str]) -> SubscriberStatus | None:
            value = _cell(row, column).lower()
            if not value:
                return None
            if value not in TRUE and value not in FALSE:
                raise ValidationError({"status": f"{value!r} is neither true nor false"})
            return status if (value in TRUE) == when else None

        return rule

    return make


def _words(column: int) -> StatusRule:
    def rule(row: Sequence[str]) -> SubscriberStatus | None:
        value = _cell(row, column).lower()
        if not value:
            return None
        if value not in STATUS_WORDS:
            raise ValidationError({"status": f"unknown status {value!r}"})
        return STATUS_WORDS[value]

    return rule
