"""The Cedar gate: policy files loaded and validated once, and a decision for every staff request.

The policies live in `reelm/policies/` beside their entity schema. They are read and validated when
the server starts, and a policy that does not parse or does not type-check against the schema stops
the start with Cedar's own message. Their hash goes into every logged decision, so an auditor can
tell which policies decided; it is SHA-256 over the lines that `sha256sum` prints for the files, so

    cd reelm/policies && LC_ALL=C sha256sum *.cedar schema.cedarschema | sha256sum

reproduces it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import cedarpy

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
SCHEMA_FILE = "schema.cedarschema"
NAMESPACE = "Reelm"

# Actions of the schema; each names what a staff member is trying to do.
READ_PROTECTED = "ReadProtected"
REQUEST_JUSTIFICATION = "RequestJustification"
APPROVE_JUSTIFICATION = "ApproveJustification"
READ_AUDIT_LOG = "ReadAuditLog"
READ_AGGREGATES = "ReadAggregates"


class PolicyError(Exception):
    """The policy files cannot be used: a parse or validation error, in Cedar's words."""


@dataclass(frozen=True)
class Uid:
    """A Cedar entity reference, e.g. Uid("Staff", "42") for `Reelm::Staff::"42"`."""

    type: str
    id: str

    def request(self) -> dict[str, str]:
        return {"type": f"{NAMESPACE}::{self.type}", "id": self.id}

    def attr(self) -> dict[str, Any]:
        """The form an entity reference takes as an attribute or context value."""
        return {"__entity": self.request()}


def entity(uid: Uid, attrs: dict[str, Any]) -> dict[str, Any]:
    return {"uid": uid.request(), "attrs": attrs, "parents": []}


def staff_uid(user_id: int) -> Uid:
    return Uid("Staff", str(user_id))


def user_uid(user_id: int) -> Uid:
    return Uid("User", str(user_id))


def justification_uid(justification_id: int) -> Uid:
    return Uid("Justification", str(justification_id))


def staff_entity(user_id: int, *, roles: set[str], staff_realm: str) -> dict[str, Any]:
    return entity(staff_uid(user_id), {"roles": sorted(roles), "staff_realm": staff_realm})


def user_entity(user_id: int, *, home_realm: str) -> dict[str, Any]:
    return entity(user_uid(user_id), {"home_realm": home_realm})


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def justification_entity(
    justification_id: int,
    *,
    status: str,
    purpose: str,
    requester_id: int,
    subject_id: int,
    approver_id: int | None,
    expires_at: datetime | None,
) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "status": status,
        "purpose": purpose,
        "requester": staff_uid(requester_id).attr(),
        "subject": user_uid(subject_id).attr(),
    }
    # Only an approval names an approver and an expiry; a rejection records its decider elsewhere.
    if status == "approved" and approver_id is not None:
        attrs["approver"] = staff_uid(approver_id).attr()
    if status == "approved" and expires_at is not None:
        attrs["expires_at"] = epoch(expires_at)
    return entity(justification_uid(justification_id), attrs)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: list[str]  # the @id of each policy that determined the decision
    errors: list[str]  # evaluation errors; any error means the request was denied


@dataclass(frozen=True)
class PolicyEngine:
    policy_hash: str
    files: dict[str, str]  # file name → text, as loaded (auditors may read the policies)
    _policies: cedarpy.PolicySet = field(repr=False)
    _schema: cedarpy.Schema = field(repr=False)
    _ids: dict[str, str] = field(repr=False)  # Cedar's positional policy id → its @id

    def decide(
        self,
        principal: Uid,
        action: str,
        resource: Uid,
        context: dict[str, Any],
        entities: list[dict[str, Any]],
    ) -> Decision:
        """Cedar's answer; anything but an explicit Allow (errors included) is a denial."""
        request = {
            "principal": principal.request(),
            "action": {"type": f"{NAMESPACE}::Action", "id": action},
            "resource": resource.request(),
            "context": context,
        }
        try:
            result = cedarpy.is_authorized(request, self._policies, entities, schema=self._schema)
        except ValueError as exc:  # entities that do not match the schema
            return Decision(allowed=False, reasons=[], errors=[str(exc)])
        return Decision(
            allowed=result.allowed,
            reasons=[self._ids.get(r, r) for r in result.diagnostics.reasons],
            errors=[str(e) for e in result.diagnostics.errors],
        )


def policy_hash_of(files: dict[str, bytes]) -> str:
    manifest = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in files.items())
    return hashlib.sha256(manifest.encode()).hexdigest()


def _annotated_ids(name: str, text: str) -> list[str]:
    """The @id of each policy in one file, in order; every policy must have a distinct one."""
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        raise PolicyError(f"{name}: {exc}") from exc
    if parsed.get("templates"):
        raise PolicyError(f"{name}: policy templates are not used here")
    ids: list[str] = []
    for key, policy in parsed["staticPolicies"].items():
        annotation = (policy.get("annotations") or {}).get("id")
        if not annotation:
            raise PolicyError(f"{name}: policy {key} has no @id annotation")
        ids.append(annotation)
    return ids


def load_policies(directory: Path = POLICY_DIR) -> PolicyEngine:
    """Read, parse and validate the policies against the schema; PolicyError says what is wrong."""
    schema_path = directory / SCHEMA_FILE
    policy_paths = sorted(directory.glob("*.cedar"), key=lambda p: p.name.encode())
    if not schema_path.is_file():
        raise PolicyError(f"{schema_path}: the entity schema is missing")
    if not policy_paths:
        raise PolicyError(f"{directory}: no *.cedar policy files")
    raw = {p.name: p.read_bytes() for p in [*policy_paths, schema_path]}
    texts = {name: data.decode("utf-8") for name, data in raw.items()}

    try:
        schema = cedarpy.Schema.from_str(texts[SCHEMA_FILE])
    except ValueError as exc:
        raise PolicyError(f"{SCHEMA_FILE}: {exc}") from exc

    # Parsed one file at a time so an error names its file; positional ids then follow file order.
    positional: dict[str, tuple[str, str]] = {}  # policyN → (file, @id)
    for path in policy_paths:
        for annotation in _annotated_ids(path.name, texts[path.name]):
            positional[f"policy{len(positional)}"] = (path.name, annotation)
    annotations = [a for _, a in positional.values()]
    duplicates = sorted({a for a in annotations if annotations.count(a) > 1})
    if duplicates:
        raise PolicyError(f"duplicate policy @id: {', '.join(duplicates)}")

    combined = "\n".join(texts[p.name] for p in policy_paths)
    validation = cedarpy.validate_policies(combined, schema)
    if not validation.validation_passed:
        problems = []
        for error in validation.errors:
            file, annotation = positional.get(error.policy_id, ("?", error.policy_id))
            problems.append(f"{file} @id({annotation}): {error.error}")
        raise PolicyError("policies do not validate against the schema:\n" + "\n".join(problems))
    try:
        policies = cedarpy.PolicySet.from_str(combined)
    except ValueError as exc:  # pragma: no cover - each file parsed above
        raise PolicyError(str(exc)) from exc

    return PolicyEngine(
        policy_hash=policy_hash_of(raw),
        files=texts,
        _policies=policies,
        _schema=schema,
        _ids={key: annotation for key, (_, annotation) in positional.items()},
    )


@cache
def default_engine() -> PolicyEngine:
    """The shipped policies, loaded once per process (at start-up, see `routes.lifespan`)."""
    return load_policies(POLICY_DIR)
