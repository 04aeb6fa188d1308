"""API tokens carry a role: an operator's token reads and pauses, never creates or sends; the
command line makes tokens with a role (admin by default) and accounts for the admin."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from broadsheet.models import ApiToken, User
from broadsheet.services.api_tokens import create_token
from broadsheet.services.campaigns import start_send
from broadsheet.services.users import authenticate
from cli import main as cli
from tests.support.factories import make_campaign


def bearer_for(committed, role: str) -> dict[str, str]:
    _, secret = create_token(committed, f"{role} bot", role)
    committed.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_an_operator_token_cannot_start_a_send_but_may_pause_one(client, committed):
    operator = bearer_for(committed, "operator")
    draft = make_campaign(committed, "Draft")
    sending = make_campaign(committed, "Sending")
    start_send(committed, sending.id)
    committed.commit()
    sent = client.post(f"/api/v1/campaigns/{draft.id}/send", headers=operator)
    assert sent.status_code == 403 and "operator" in sent.get_json()["error"]
    made = client.post("/api/v1/articles", json={"title": "T", "body_markdown": "b"},
                       headers=operator)  # fmt: skip
    assert made.status_code == 403
    assert client.get(f"/api/v1/campaigns/{draft.id}", headers=operator).status_code == 200
    paused = client.post(f"/api/v1/campaigns/{sending.id}/pause", headers=operator)
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"


def test_an_editor_token_sends(client, committed):
    editor = bearer_for(committed, "editor")
    draft = make_campaign(committed)
    committed.commit()
    assert client.post(f"/api/v1/campaigns/{draft.id}/send", headers=editor).status_code == 202


@pytest.mark.parametrize(("args", "role"), [([], "admin"), (["--role", "operator"], "operator")])
@pytest.mark.commits  # the command line reads the database on a connection of its own
def test_create_token_takes_a_role_and_prints_the_token_last(committed, stack, args, role):
    result = CliRunner().invoke(cli, ["create-token", "ci", *args])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("bs_")
    stored = committed.scalars(select(ApiToken.role).where(ApiToken.name == "ci")).one()
    committed.rollback()
    assert stored.value == role


@pytest.mark.commits  # the command line reads the database on a connection of its own
def test_create_admin_reads_the_password_from_standard_input(committed, stack):
    result = CliRunner().invoke(
        cli, ["create-admin", "Chief@Example.org", "--role", "editor"],
        input="a password from stdin\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "editor Chief@example.org created" in result.output
    user = authenticate(committed, "chief@example.org", "a password from stdin")
    assert user is not None and user.role.value == "editor"
    committed.rollback()


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["not-an-address", "--password", "long enough password"], "email:"),
        (["ok@example.org", "--password", "short"], "password: must be at least 10"),
        (["ok@example.org", "--password", "long enough password", "--role", "boss"], "boss"),
    ],
)
@pytest.mark.commits  # the command line reads the database on a connection of its own
def test_create_admin_refuses_bad_input_clearly(committed, stack, args, complaint):
    result = CliRunner().invoke(cli, ["create-admin", *args])
    assert result.exit_code != 0
    assert complaint in result.output
    assert committed.scalars(select(User)).all() == []
    committed.rollback()
