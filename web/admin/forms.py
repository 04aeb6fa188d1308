"""What the admin's forms offer and how they read back: choices with plain descriptions, and
the posted values kept as typed so a page with errors shows them again."""

from __future__ import annotations

from collections.abc import Iterable

from flask import request

from broadsheet.models import Role

ROLE_CHOICES = [
    (Role.EDITOR.value, "Editor: articles, campaigns and readers"),
    (Role.OPERATOR.value, "Operator: watches delivery, may pause a send"),
    (Role.ADMIN.value, "Admin: everything, including people and API tokens"),
]


def posted(names: Iterable[str]) -> dict[str, str]:
    """The named form fields as posted (empty when absent), to fill the form in again."""
    return {name: request.form.get(name, "") for name in names}
