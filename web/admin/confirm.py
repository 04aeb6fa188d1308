"""The confirmation step every state change goes through: the first POST shows what will
happen; the same form, posted again with `confirm=yes`, does it."""

from __future__ import annotations

from flask import render_template, request


def confirmed(
    question: str,
    consequence: str,
    action: str,
    *,
    back: str,
    danger: bool = True,
    acknowledge: str | None = None,
) -> tuple[str, int] | None:
    """None once the person has confirmed (go ahead); else the confirmation page to answer
    with. Every field of the form is carried over to the second post. `acknowledge`, when
    given, is a box that must be ticked as well (e.g. sending despite failed checks)."""
    ticked = acknowledge is None or request.form.get("acknowledge") == "yes"
    if request.form.get("confirm") == "yes" and ticked:
        return None
    kept = ("confirm", "csrf_token", "acknowledge")
    carried = [(k, v) for k, v in request.form.items(multi=True) if k not in kept]
    page = render_template(
        "admin/confirm.html",
        question=question,
        consequence=consequence,
        action=action,
        back=back,
        danger=danger,
        carried=carried,
        acknowledge=acknowledge,
        unticked=request.form.get("confirm") == "yes" and not ticked,
    )
    return page, 200
