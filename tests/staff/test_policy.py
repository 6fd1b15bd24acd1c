"""The Cedar policies: they validate against the schema, bad ones stop the load, and decisions hold."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cedarpy
import pytest

from reelm.staff import policy
from reelm.staff.policy import POLICY_DIR, Decision, PolicyError, load_policies
from reelm.web.routes import staff as routes

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
STAFF, OTHER_STAFF, SUBJECT, OTHER_SUBJECT, JUSTIFICATION = 11, 12, 21, 22, 31


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A copy of the shipped policies to break."""
    target = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, target)
    return target


def test_shipped_policies_validate_against_the_schema() -> None:
    engine = load_policies()
    schema = cedarpy.Schema.from_str((POLICY_DIR / "schema.cedarschema").read_text())
    for name, text in engine.files.items():
        if name.endswith(".cedar"):
            result = cedarpy.validate_policies(text, schema)
            assert result.validation_passed, (name, result.errors)
    assert set(engine.files) == {
        "audit.cedar",
        "justifications.cedar",
        "moderation.cedar",
        "read_protected.cedar",
        "schema.cedarschema",
    }


def test_policy_hash_is_sha256sum_of_the_files() -> None:
    """`LC_ALL=C sha256sum *.cedar schema.cedarschema | sha256sum` gives the same hash."""
    names = [*sorted(p.name for p in POLICY_DIR.glob("*.cedar")), "schema.cedarschema"]
    lines = "".join(f"{hashlib.sha256((POLICY_DIR / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    assert load_policies().policy_hash == hashlib.sha256(lines.encode()).hexdigest()


def test_policy_hash_changes_with_any_policy_file(policy_dir: Path) -> None:
    before = load_policies(policy_dir).policy_hash
    path = policy_dir / "audit.cedar"
    path.write_text(path.read_text() + "\n// a comment changes the hash too\n")
    assert load_policies(policy_dir).policy_hash != before


def test_a_policy_with_a_syntax_error_fails_to_load_naming_the_file(policy_dir: Path) -> None:
    (policy_dir / "zz_broken.cedar").write_text(
        '@id("broken") permit (principal, action == Reelm::Action::"ReadProtected", resource)\n'
        "when { principal.roles.contains( };\n"
    )
    with pytest.raises(PolicyError, match=r"zz_broken\.cedar: .*unexpected token"):
        load_policies(policy_dir)


def test_a_policy_that_does_not_type_check_fails_with_cedars_error(policy_dir: Path) -> None:
    (policy_dir / "zz_typo.cedar").write_text(
        '@id("typo-in-attribute")\n'
        'permit (principal, action == Reelm::Action::"ReadProtected", resource)\n'
        "when { principal.staff_region == resource.home_realm };\n"
    )
    with pytest.raises(PolicyError) as raised:
        load_policies(policy_dir)
    message = str(raised.value)
    assert "do not validate against the schema" in message
    assert "zz_typo.cedar @id(typo-in-attribute)" in message
    assert "attribute `staff_region` on entity type `Reelm::Staff` not found" in message


def test_a_bad_schema_and_unnamed_or_duplicate_policies_fail_to_load(
    policy_dir: Path, tmp_path: Path
) -> None:
    broken_schema = tmp_path / "broken-schema"
    shutil.copytree(policy_dir, broken_schema)
    (broken_schema / "schema.cedarschema").write_text("namespace Reelm { entity Staff = { roles: Set< }; }")
    with pytest.raises(PolicyError, match=r"schema\.cedarschema: .*unexpected token"):
        load_policies(broken_schema)

    unnamed = tmp_path / "unnamed"
    shutil.copytree(policy_dir, unnamed)
    (unnamed / "zz.cedar").write_text(
        'forbid (principal, action == Reelm::Action::"ReadAggregates", resource);'
    )
    with pytest.raises(PolicyError, match=r"zz\.cedar: policy policy0 has no @id"):
        load_policies(unnamed)

    (policy_dir / "zz.cedar").write_text(
        '@id("no-self-approval") forbid (principal, action == Reelm::Action::"ReadAggregates", resource);'
    )
    with pytest.raises(PolicyError, match="duplicate policy @id: no-self-approval"):
        load_policies(policy_dir)

    (policy_dir / "zz.cedar").unlink()
    (policy_dir / "schema.cedarschema").unlink()
    with pytest.raises(PolicyError, match="the entity schema is missing"):
        load_policies(policy_dir)


async def test_the_server_start_loads_the_policies_and_stops_on_a_bad_one(
    monkeypatch: pytest.MonkeyPatch, policy_dir: Path
) -> None:
    (policy_dir / "zz_broken.cedar").write_text("permit (principal, action, resource) when {")
    monkeypatch.setattr(routes, "default_engine", lambda: load_policies(policy_dir))
    with pytest.raises(PolicyError, match=r"zz_broken\.cedar"):
        async with routes.lifespan(None):
            pass


# --- decisions, straight from the engine -------------------------------------------------------------------


def read(
    roles: set[str],
    *,
    staff_realm: str = "us",
    home_realm: str = "us",
    purpose: str = "support",
    justification: dict[str, Any] | None = None,
    now: datetime = NOW,
) -> Decision:
    entities = [
        policy.staff_entity(STAFF, roles=set(roles), staff_realm=staff_realm),
        policy.user_entity(SUBJECT, home_realm=home_realm),
    ]
    context: dict[str, Any] = {"purpose": purpose, "now": policy.epoch(now)}
    if justification is not None:
        entities.append(justification)
        context["justification"] = policy.justification_uid(JUSTIFICATION).attr()
    return load_policies().decide(
        policy.staff_uid(STAFF), policy.READ_PROTECTED, policy.user_uid(SUBJECT), context, entities
    )


def justification(
    *,
    status: str = "approved",
    purpose: str = "support",
    requester: int = STAFF,
    approver: int | None = OTHER_STAFF,
    subject: int = SUBJECT,
    expires: datetime | None = NOW + timedelta(hours=1),
) -> dict[str, Any]:
    return policy.justification_entity(
        JUSTIFICATION,
        status=status,
        purpose=purpose,
        requester_id=requester,
        subject_id=subject,
        approver_id=approver,
        expires_at=expires,
    )


def test_support_needs_an_approved_unexpired_justification_for_the_subject_in_its_realm() -> None:
    allowed = read({"support"}, justification=justification())
    assert allowed.allowed, allowed
    assert allowed.reasons == ["support-reads-own-realm-with-approved-justification"]
    assert allowed.errors == []

    denials = {
        "no justification": read({"support"}),
        "pending": read({"support"}, justification=justification(status="pending")),
        "rejected": read({"support"}, justification=justification(status="rejected")),
        "expired": read({"support"}, justification=justification(expires=NOW - timedelta(seconds=1))),
        "another subject": read({"support"}, justification=justification(subject=OTHER_SUBJECT)),
        "someone else's": read({"support"}, justification=justification(requester=OTHER_STAFF)),
        "self-approved": read({"support"}, justification=justification(approver=STAFF)),
        "other purpose": read({"support"}, purpose="legal", justification=justification(purpose="legal")),
        "other realm": read({"support"}, home_realm="eu", justification=justification()),
        "reviewer": read({"reviewer"}, justification=justification()),
    }
    assert {why: d.allowed for why, d in denials.items()} == dict.fromkeys(denials, False)


def test_operator_break_glass_works_in_any_realm_only_with_another_s_approval() -> None:
    legal = justification(purpose="legal")
    assert read({"operator"}, home_realm="eu", purpose="legal", justification=legal).reasons == [
        "operator-break-glass-with-approved-justification"
    ]
    assert not read({"operator"}, home_realm="eu", purpose="legal").allowed
    assert not read({"operator"}, home_realm="eu", purpose="support", justification=legal).allowed
    self_approved = justification(purpose="legal", approver=STAFF)
    denied = read({"operator"}, home_realm="eu", purpose="legal", justification=self_approved)
    assert not denied.allowed
    assert denied.reasons == ["justification-used-only-by-its-requester-and-approved-by-another"]


def test_the_auditor_forbid_overrides_every_permit() -> None:
    denied = read({"auditor", "operator", "support"}, justification=justification())
    assert not denied.allowed
    assert denied.reasons == ["auditor-never-reads-protected-data"]


def test_only_another_operator_approves_a_pending_justification() -> None:
    def approve(roles: set[str], *, requester: int = OTHER_STAFF, status: str = "pending") -> Decision:
        pending = justification(status=status, requester=requester, approver=None, expires=None)
        return load_policies().decide(
            policy.staff_uid(STAFF),
            policy.APPROVE_JUSTIFICATION,
            policy.justification_uid(JUSTIFICATION),
            {"now": policy.epoch(NOW)},
            [policy.staff_entity(STAFF, roles=set(roles), staff_realm="us"), pending],
        )

    assert approve({"operator"}).reasons == ["operator-decides-others-justifications"]
    own = approve({"operator"}, requester=STAFF)
    assert (own.allowed, own.reasons) == (False, ["no-self-approval"])
    assert not approve({"support"}).allowed
    assert not approve({"operator"}, status="approved").allowed
    assert not approve({"operator", "auditor"}).allowed


def test_malformed_requests_are_denied_with_cedars_error() -> None:
    engine = load_policies()
    decision = engine.decide(
        policy.staff_uid(STAFF),
        policy.READ_PROTECTED,
        policy.user_uid(SUBJECT),
        {"purpose": 7, "now": 0},
        [policy.staff_entity(STAFF, roles={"support"}, staff_realm="us")],
    )
    assert not decision.allowed
    assert decision.errors
    assert "is not valid" in decision.errors[0]
