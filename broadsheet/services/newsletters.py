"""Newsletters and readers' memberships of them: create, change and list newsletters, find
them by slug, and put a reader in the ones chosen for them (or the default one)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session

from broadsheet.addresses import check_address, clean_name
from broadsheet.db import dialect_insert, rowcount
from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.mail.compose import newsletter_identity
from broadsheet.mail.look import logo_errors
from broadsheet.models import Campaign, Membership, MembershipStatus, Newsletter, utcnow
from broadsheet.services.audience_freeze import rules_of
from broadsheet.services.publication import MAX_NOTE, accent_of, get_publication
from broadsheet.settings import Settings

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def list_newsletters(session: Session) -> list[Newsletter]:
    """Every newsletter, the default first, then by name."""
    query = select(Newsletter).order_by(Newsletter.is_default.desc(), Newsletter.name)
    return list(session.scalars(query))


def create_newsletter(
    session: Session,
    name: object,
    slug: object = None,
    *,
    description: object = "",
    public: object = True,
    sender_name: object = "",
    sender_address: object = "",
    reply_to: object = "",
    welcome: object = False,
) -> Newsletter:
    """A new newsletter; `slug` defaults to one made from the name. Every problem with the
    fields is reported at once (ValidationError); a slug in use is a Conflict."""
    errors: dict[str, str] = {}
    title = _name(errors, name)
    if slug is None or slug == "":
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64].strip("-")
    if not isinstance(slug, str) or not SLUG.match(slug):
        errors["slug"] = (
            "must be 1 to 64 lower-case letters, digits and hyphens, starting and ending "
            "with a letter or digit"
        )
    _description(errors, description)
    for field, value in (("public", public), ("welcome", welcome)):
        _flag(errors, field, value)
    sender = _sender(errors, sender_name, sender_address, reply_to)
    if errors:
        raise ValidationError(errors)
    assert isinstance(slug, str) and isinstance(description, str)
    if session.scalar(select(Newsletter.id).where(Newsletter.slug == slug)) is not None:
        raise Conflict(f"a newsletter's address is already {slug!r}")
    newsletter = Newsletter(
        name=title, slug=slug, description=description, public=bool(public),
        welcome=bool(welcome), created_at=utcnow(), **sender,
    )  # fmt: skip
    session.add(newsletter)
    session.flush()
    return newsletter


# What update_newsletter changes; the slug is not among them (List-Id and links use it).
EDITABLE = (
    "name", "description", "public", "sender_name", "sender_address", "reply_to", "welcome",
)  # fmt: skip
DEFAULT_STAYS_PUBLIC = (
    "cannot be turned off for the default newsletter: readers added with no choice join it, "
    "and the signup form offers it"
)


def update_newsletter(session: Session, newsletter_id: int, **changes: object) -> Newsletter:
    """Change a newsletter's fields among EDITABLE (those not given stay), checked as
    `create_newsletter` checks them, every problem at once (ValidationError, also naming a
    field that cannot be changed: the slug, which List-Id and links hold, or an unknown one).
    The default newsletter stays public. A newsletter made private keeps its readers (they
    chose it; the preferences page still lets them leave); the signup form stops offering it
    and the archive stops listing it, and an issue sent only to private newsletters then
    opens only from its email's link (archive.web_edition). Campaigns already made keep the
    sender they had."""
    newsletter = get_newsletter(session, newsletter_id)
    errors = {
        field: "cannot be changed: links and List-Id use it" if field == "slug" else
        "is not a field of a newsletter"
        for field in changes if field not in EDITABLE
    }  # fmt: skip
    kept = {field: getattr(newsletter, field) for field in EDITABLE}
    wanted = {**kept, **{k: v for k, v in changes.items() if k in EDITABLE}}
    title = _name(errors, wanted["name"])
    _description(errors, wanted["description"])
    for field in ("public", "welcome"):
        _flag(errors, field, wanted[field])
    if newsletter.is_default and wanted["public"] is False:
        errors["public"] = DEFAULT_STAYS_PUBLIC
    sender = _sender(errors, wanted["sender_name"], wanted["sender_address"], wanted["reply_to"])
    if errors:
        raise ValidationError(errors)
    assert isinstance(wanted["description"], str)
    newsletter.name, newsletter.description = title, wanted["description"]
    newsletter.public, newsletter.welcome = bool(wanted["public"]), bool(wanted["welcome"])
    for field, value in sender.items():
        setattr(newsletter, field, value)
    session.flush()
    return newsletter


def find_newsletter(session: Session, ref: str) -> Newsletter:
    """The newsletter `ref` names: its slug, or else its id in digits (a slug of digits that
    exists wins); NotFound for neither."""
    found = None
    if "\x00" not in ref:  # PostgreSQL refuses NUL rather than finding nothing
        found = session.scalar(select(Newsletter).where(Newsletter.slug == ref))
    if found is None and ref.isdigit() and len(ref) < 19:
        found = session.get(Newsletter, int(ref))
    if found is None:
        raise NotFound(f"there is no newsletter {ref!r}")
    return found


def _name(errors: dict[str, str], name: object) -> str:
    title = name.strip() if isinstance(name, str) else ""
    if not title:
        errors["name"] = "is required"
    elif len(title) > 200:
        errors["name"] = "must be at most 200 characters"
    return title


def _description(errors: dict[str, str], description: object) -> None:
    if not isinstance(description, str) or len(description) > 2000:
        errors["description"] = "must be text of at most 2000 characters"


def _flag(errors: dict[str, str], field: str, value: object) -> None:
    if not isinstance(value, bool):
        errors[field] = "must be true or false"


def get_newsletter(session: Session, newsletter_id: int) -> Newsletter:
    found = session.get(Newsletter, newsletter_id)
    if found is None:
        raise NotFound(f"newsletter {newsletter_id} does not exist")
    return found


def save_look(
    session: Session,
    newsletter_id: int,
    *,
    logo_url: object,
    logo_alt: object,
    accent: object,
    footer_note: object,
) -> Newsletter:
    """Keep a newsletter's own logo, accent colour and footer note (each empty: the
    publication's); ValidationError names each field at fault. Its campaigns made from now
    on carry them."""
    newsletter = get_newsletter(session, newsletter_id)
    errors = logo_errors(logo_url, logo_alt)
    colour = accent_of(errors, accent)
    note = footer_note.strip() if isinstance(footer_note, str) else None
    if note is None or len(note) > MAX_NOTE:
        errors["footer_note"] = f"must be text of at most {MAX_NOTE} characters"
    if errors:
        raise ValidationError(errors)
    assert isinstance(logo_url, str) and isinstance(logo_alt, str) and note is not None
    newsletter.logo_url = logo_url.strip()
    newsletter.logo_alt = logo_alt.strip() if newsletter.logo_url else ""
    newsletter.accent, newsletter.footer_note = colour, note
    session.flush()
    return newsletter


def _sender(
    errors: dict[str, str], name: object, address: object, reply_to: object
) -> dict[str, str]:
    checked = {"sender_name": "", "sender_address": "", "reply_to": ""}
    if not isinstance(name, str) or len(name) > 200:
        errors["sender_name"] = "must be text of at most 200 characters"
    else:
        checked["sender_name"] = clean_name(name)
    for field, value in (("sender_address", address), ("reply_to", reply_to)):
        if value in (None, ""):
            continue
        try:
            checked[field] = check_address(value, field).email
        except ValidationError as exc:
            errors.update(exc.fields)
    return checked


def by_slugs(session: Session, slugs: object, field: str = "newsletters") -> list[Newsletter]:
    """The newsletters `slugs` name (a list of strings, each known), in the order given;
    ValidationError on `field` naming those that are not."""
    if not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs):
        raise ValidationError({field: "must be a list of newsletter slugs"})
    if not slugs:
        raise ValidationError({field: "must name at least one newsletter"})
    found = {
        n.slug: n for n in session.scalars(select(Newsletter).where(Newsletter.slug.in_(slugs)))
    }
    unknown = [s for s in slugs if s not in found]
    if unknown:
        raise ValidationError({field: f"no such newsletter: {', '.join(map(repr, unknown))}"})
    return list(dict.fromkeys(found[s] for s in slugs))


def default_ids(session: Session) -> list[int]:
    """The newsletter a reader joins when none is chosen for them (none on a bare schema)."""
    return list(session.scalars(select(Newsletter.id).where(Newsletter.is_default)))


def join(session: Session, subscriber_id: int, newsletter_ids: Sequence[int]) -> None:
    """The reader subscribed to each of `newsletter_ids` (again, if they had left one)."""
    if not newsletter_ids:
        return
    now = utcnow()
    rows = [
        {"subscriber_id": subscriber_id, "newsletter_id": n, "created_at": now,
         "changed_at": now, "status": MembershipStatus.SUBSCRIBED.value}
        for n in dict.fromkeys(newsletter_ids)
    ]  # fmt: skip
    dialect = session.get_bind().dialect.name
    statement = dialect_insert(dialect, Membership.__table__).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["subscriber_id", "newsletter_id"],
            set_={"status": MembershipStatus.SUBSCRIBED.value, "changed_at": now},
        )
    )


def public_choices(session: Session) -> list[Newsletter]:
    """The newsletters the signup form offers: the public ones, the default first."""
    query = (
        select(Newsletter)
        .where(Newsletter.public)
        .order_by(Newsletter.is_default.desc(), Newsletter.name)
    )
    return list(session.scalars(query))


def join_public(session: Session, subscriber_id: int, only: Sequence[str] | None = None) -> None:
    """A reader who signed up on the form joins every public newsletter, or those of them
    whose slugs are in `only` (what they ticked): one statement."""
    now = utcnow()
    chosen = select(
        literal(subscriber_id),
        Newsletter.id,
        literal(MembershipStatus.SUBSCRIBED.value),
        literal(now, type_=Membership.created_at.type),
        literal(now, type_=Membership.changed_at.type),
    ).where(Newsletter.public)
    if only is not None:
        chosen = chosen.where(Newsletter.slug.in_(list(only)))
    columns = ["subscriber_id", "newsletter_id", "status", "created_at", "changed_at"]
    dialect = session.get_bind().dialect.name
    statement = dialect_insert(dialect, Membership.__table__).from_select(columns, chosen)
    session.execute(statement.on_conflict_do_nothing())


def leave(
    session: Session, subscriber_id: int, newsletter_id: int, campaign_id: int | None = None
) -> bool:
    """The reader unsubscribed from one newsletter, the others kept; whether they were in it.
    `campaign_id`: the campaign whose unsubscribe link they followed (counted as its
    unsubscribe)."""
    result = session.execute(
        update(Membership)
        .where(
            Membership.subscriber_id == subscriber_id,
            Membership.newsletter_id == newsletter_id,
            Membership.status == MembershipStatus.SUBSCRIBED,
        )
        .values(status=MembershipStatus.UNSUBSCRIBED, changed_at=utcnow(), left_through=campaign_id)
    )
    return rowcount(result) > 0


def memberships(session: Session, subscriber_id: int) -> list[tuple[Newsletter, Membership]]:
    """The reader's newsletters with their membership, by newsletter name."""
    query = (
        select(Newsletter, Membership)
        .join(Membership, Membership.newsletter_id == Newsletter.id)
        .where(Membership.subscriber_id == subscriber_id)
        .order_by(Newsletter.name)
    )
    return [(n, m) for n, m in session.execute(query)]


def reader_counts(session: Session) -> dict[int, int]:
    """How many readers are subscribed to each newsletter (their own status aside): one
    grouped count over the memberships' (newsletter, status, reader) index."""
    query = (
        select(Membership.newsletter_id, func.count())
        .where(Membership.status == MembershipStatus.SUBSCRIBED)
        .group_by(Membership.newsletter_id)
    )
    return {newsletter_id: n for newsletter_id, n in session.execute(query)}


def named_by(campaign: Campaign | None) -> list[int]:
    """The ids of the newsletters a campaign's rules name (its own, or through its segment,
    frozen or as it is now while it waits); none for a campaign to everyone or to tags."""
    rules = (rules_of(campaign) if campaign is not None else None) or {}
    return list(rules.get("newsletters") or [])


def sole_newsletter(session: Session, campaign: Campaign | None) -> Newsletter | None:
    """The one newsletter a campaign's rules choose (its messages come from and name it);
    None for a campaign to everyone, to several newsletters or to tags alone."""
    chosen = named_by(campaign)
    return session.get(Newsletter, chosen[0]) if len(chosen) == 1 else None


def identity_for(session: Session, campaign: Campaign, settings: Settings) -> dict[str, str]:
    """What a campaign's messages carry of who sends them (compose.campaign_identity): its
    newsletter's name, sender, reply-to and list when its rules choose exactly one, else the
    publication's; the newsletter's logo, accent and footer note where it has its own, else
    the publication's; and the publication's postal address in either case."""
    publication = get_publication(session)
    newsletter = sole_newsletter(session, campaign)
    own = newsletter.logo_url if newsletter is not None else ""
    kept = {
        "postal_address": publication.postal_address,
        "footer_note": (newsletter and newsletter.footer_note) or publication.footer_note,
        "logo_url": own or publication.logo_url,
        "logo_alt": newsletter.logo_alt if own and newsletter else publication.logo_alt,
        "accent": (newsletter and newsletter.accent) or publication.accent,
    }
    if newsletter is None:
        return {**kept, "publication": publication.name}
    identity = newsletter_identity(
        settings, newsletter.name, newsletter.slug, newsletter.sender_name,
        newsletter.sender_address, newsletter.reply_to,
    )  # fmt: skip
    return {**identity, **kept}
