"""Recording privileged actions: canonical entries, keyed pseudonyms of subjects, the outbox write."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from reelm.audit.models import DirectoryAuditOutbox, RealmAuditOutbox

# Entry bundles prefix each entry with a 16-bit length; entries are small records, far below it.
MAX_ENTRY_BYTES = 16_384

# Stable event types: auditors count and filter by these, so they never change meaning.
STAFF_ACCESS = "staff.access"
STAFF_ROLE_CHANGE = "staff.role"
JUSTIFICATION = "staff.justification"
POLICY_CHANGE = "policy.change"
KEY_ROTATION = "key.rotation"
CAPABILITY_CHANGE = "realm.capability"
MODERATION_DECISION = "moderation.decision"
LEGAL_ORDER = "legal.order"
MODEL_DEPLOYMENT = "model.deployment"
FLOW_DEFINITION = "flow.definition"


def pseudonym(secret_key: str, realm: str, user_id: int) -> str:
    """A subject's keyed pseudonym: only the realm (holding the key) and the user can compute it.

    Log entries name subjects this way, so the public log reveals no one, while a user can find the
    entries that concern them ("who accessed my data").
    """
    realm_key = hmac.new(secret_key.encode(), f"pseudonym-key:{realm}".encode(), hashlib.sha256).digest()
    return hmac.new(realm_key, str(user_id).encode(), hashlib.sha256).hexdigest()[:32]


def canonical(entry: dict[str, Any]) -> bytes:
    """One byte form per entry (sorted keys, no spaces, UTF-8), so leaf hashes are reproducible."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


async def record_event(
    session: AsyncSession,
    *,
    realm: str | None,
    event_type: str,
    actor: dict[str, Any],
    details: dict[str, Any],
    subject: str | None = None,
) -> bytes:
    """Add an entry to the outbox of the session's database (the directory when `realm` is None).

    `actor` says who acted (e.g. {"kind": "staff", "id": "...", "role": "support", "realm": "us"}) and
    `subject` is a pseudonym (see `pseudonym`), never a raw identifier of a person. Returns the entry.
    """
    entry = canonical(
        {
            "type": event_type,
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "realm": realm,
            "actor": actor,
            "subject": subject,
            "details": details,
        }
    )
    if len(entry) > MAX_ENTRY_BYTES:
        raise ValueError(f"audit entry of {len(entry)} bytes exceeds {MAX_ENTRY_BYTES}")
    outbox = RealmAuditOutbox if realm is not None else DirectoryAuditOutbox
    session.add(outbox(event_type=event_type, entry=entry))
    return entry
