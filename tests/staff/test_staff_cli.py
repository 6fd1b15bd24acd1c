"""`reelm staff …`: role grants and revocations, each recorded in the directory's audit outbox."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from reelm.audit.service import STAFF_ROLE_CHANGE
from reelm.cli import staff as staff_cli
from reelm.cli.main import app as cli_app
from reelm.errors import Problem
from reelm.runtime import Runtime
from reelm.staff.models import StaffRole
from reelm.staff.service import list_roles
from tests.conftest import make_account
from tests.staff.common import outbox, row_counts


async def grants(runtime: Runtime) -> list[tuple[int, str, str, str]]:
    async with runtime.databases.sessionmaker(None)() as session:
        return [
            (g.user_id, g.role, g.staff_realm, g.granted_by)
            for g in (await session.scalars(select(StaffRole))).all()
        ]


async def test_grant_and_revoke_are_recorded_in_the_directory_outbox(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    sue = await make_account(client, "sue")
    grant = await staff_cli.grant(runtime, handle="@Sue", role="support", realm="us")
    assert (grant.user_id, grant.role, grant.staff_realm, grant.granted_by) == (
        int(sue.id),
        "support",
        "us",
        "operator-cli",
    )
    assert await grants(runtime) == [(int(sue.id), "support", "us", "operator-cli")]
    (entry,) = await outbox(runtime, None)
    assert entry["type"] == STAFF_ROLE_CHANGE
    assert entry["realm"] is None
    assert entry["actor"] == {"kind": "operator-cli"}
    assert entry["details"] == {"change": "grant", "staff": sue.id, "role": "support", "staff_realm": "us"}
    assert [(h, g.role) for h, g in await list_roles(runtime)] == [("sue", "support")]

    await staff_cli.revoke(runtime, handle="sue", role="support", realm="us")
    assert await grants(runtime) == []
    assert [e["details"]["change"] for e in await outbox(runtime, None, STAFF_ROLE_CHANGE)] == [
        "grant",
        "revoke",
    ]
    for realm in ("us", "eu", "global"):
        assert await outbox(runtime, realm) == []  # role changes belong to the directory


@pytest.mark.parametrize(
    ("handle", "role", "realm", "status", "type_suffix"),
    [
        ("sue", "admin", "us", 422, "invalid-request"),
        ("sue", "support", "mars", 422, "invalid-request"),
        ("nobody", "support", "us", 404, "not-found"),
        ("sue", "support", "us", 409, "role-exists"),  # already held
        ("sue", "auditor", "eu", 409, "role-conflict"),  # auditors hold no other role
    ],
)
async def test_refused_grants_change_nothing(
    client: httpx.AsyncClient,
    runtime: Runtime,
    handle: str,
    role: str,
    realm: str,
    status: int,
    type_suffix: str,
) -> None:
    await make_account(client, "sue")
    await staff_cli.grant(runtime, handle="sue", role="support", realm="us")
    before = await row_counts(runtime)
    with pytest.raises(Problem) as refused:
        await staff_cli.grant(runtime, handle=handle, role=role, realm=realm)
    assert (refused.value.status, refused.value.type) == (status, type_suffix)
    assert await row_counts(runtime) == before


async def test_an_auditor_takes_no_other_role_and_revoking_an_absent_grant_is_refused(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await make_account(client, "audrey")
    await staff_cli.grant(runtime, handle="audrey", role="auditor", realm="us")
    await staff_cli.grant(runtime, handle="audrey", role="auditor", realm="eu")  # auditing two realms is fine
    before = await row_counts(runtime)
    with pytest.raises(Problem, match="An auditor holds no other staff role"):
        await staff_cli.grant(runtime, handle="audrey", role="operator", realm="global")
    with pytest.raises(Problem) as absent:
        await staff_cli.revoke(runtime, handle="audrey", role="support", realm="us")
    assert absent.value.status == 404
    assert await row_counts(runtime) == before


def test_the_staff_commands_are_registered() -> None:
    result = CliRunner().invoke(cli_app, ["staff", "--help"])
    assert result.exit_code == 0, result.output
    for command in ("grant", "revoke", "list"):
        assert command in result.output
    grant_help = CliRunner().invoke(cli_app, ["staff", "grant", "--help"])
    assert all(option in grant_help.output for option in ("--handle", "--role", "--realm"))
