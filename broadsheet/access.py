"""Who may do what: each role's rights, decided here once for the admin and the API."""

from __future__ import annotations

import enum

from broadsheet.models.user import Role


class Right(enum.StrEnum):
    READ = "read"  # see campaigns, delivery, articles and subscribers
    PAUSE = "pause"  # pause a send in progress
    EDIT = "edit"  # write articles, create, test, send and control campaigns, manage readers
    MANAGE = "manage"  # people and API tokens


RIGHTS: dict[Role, frozenset[Right]] = {
    Role.OPERATOR: frozenset({Right.READ, Right.PAUSE}),
    Role.EDITOR: frozenset({Right.READ, Right.PAUSE, Right.EDIT}),
    Role.ADMIN: frozenset(Right),
}


def can(role: Role, right: Right) -> bool:
    return right in RIGHTS[role]
