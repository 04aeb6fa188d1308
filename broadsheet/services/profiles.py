"""What a reader carries besides the address: free-form tags and a JSON object of attributes,
checked here once for the API, the admin and imports alike."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import SubscriberTag

TAG = re.compile(r"^[a-z0-9][a-z0-9 _.:/+-]{0,63}$")
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_TAGS = 100
MAX_ATTRIBUTES_BYTES = 8192


def check_tags(value: object, field: str = "tags") -> list[str]:
    """Tags as stored: lower-cased and stripped, each once, in the order given. Each is 1 to
    64 letters, digits, spaces or `_.:/+-`, starting with a letter or digit."""
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValidationError({field: "must be a list of strings"})
    tags = list(dict.fromkeys(t.strip().lower() for t in value))
    bad = [t for t in tags if not TAG.match(t)]
    if bad:
        raise ValidationError(
            {
                field: f"{bad[0]!r} is not a tag: 1 to 64 letters, digits, spaces or _.:/+-, "
                "starting with a letter or digit"
            }
        )
    if len(tags) > MAX_TAGS:
        raise ValidationError({field: f"at most {MAX_TAGS} tags per reader"})
    return tags


def check_attributes(value: object, field: str = "attributes") -> dict[str, Any]:
    """A flat JSON object: names like identifiers (they are used as reader.attributes.<name>
    in the email), values strings, numbers, true/false or null; 8 KB at most."""
    if not isinstance(value, dict):
        raise ValidationError({field: "must be a JSON object"})
    for name, item in value.items():
        if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
            raise ValidationError(
                {field: f"{name!r} is not an attribute name: letters, digits and _, 1 to 64"}
            )
        if item is not None and not isinstance(item, str | int | float | bool):
            raise ValidationError(
                {field: f"{name!r} must be a string, a number, true/false or null"}
            )
    if len(json.dumps(value)) > MAX_ATTRIBUTES_BYTES:
        raise ValidationError({field: f"must be at most {MAX_ATTRIBUTES_BYTES} bytes as JSON"})
    return dict(value)


def tags_of(session: Session, subscriber_id: int) -> list[str]:
    query = select(SubscriberTag.tag).where(SubscriberTag.subscriber_id == subscriber_id)
    return sorted(session.scalars(query))


def set_tags(session: Session, subscriber_id: int, tags: Sequence[str]) -> None:
    """The reader's tags become exactly `tags` (checked by check_tags)."""
    session.execute(delete(SubscriberTag).where(SubscriberTag.subscriber_id == subscriber_id))
    if tags:
        session.add_all(SubscriberTag(subscriber_id=subscriber_id, tag=t) for t in tags)
    session.flush()


def attributes_from_lines(text: str, field: str = "attributes") -> dict[str, Any]:
    """Attributes as the admin's box holds them, one `name = value` a line: a value that reads
    as JSON (a number, true, false, null, a "quoted string") is that, anything else the text
    as typed. Blank lines are skipped; ValidationError names the first line at fault."""
    found: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, equals, raw = line.partition("=")
        if not equals:
            raise ValidationError({field: f"line {number} has no “=”: write name = value"})
        value = raw.strip()
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        found[name.strip()] = parsed if not isinstance(parsed, list | dict) else value
    return check_attributes(found, field)


def attributes_as_lines(attributes: dict[str, Any] | None) -> str:
    """The reverse of attributes_from_lines: text a reader of the box can change and save."""
    lines = []
    for name, value in (attributes or {}).items():
        shown = json.dumps(value) if not isinstance(value, str) else value
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError:
                pass
            else:  # "42" typed as text stays text once saved again
                shown = json.dumps(value)
        lines.append(f"{name} = {shown}")
    return "\n".join(lines)
