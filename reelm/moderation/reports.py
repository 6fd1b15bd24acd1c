"""Notice and action (DSA Art. 16): anyone logged in reports a video, comment, account or message.

A report is stored in the content's realm (see reelm.moderation.models), joins the content's open case
(duplicates group), and is marked when its reporter is one of that realm's trusted flaggers, whose cases
the queue puts first. The reporter gets a receipt at once and the outcome on it once a decision is made.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm import ids
from reelm.audit.service import pseudonym
from reelm.errors import Problem, not_found
from reelm.moderation.models import Appeal, Case, Category, Report, Source, TrustedFlagger
from reelm.moderation.schemas import ReportReceipt
from reelm.moderation.service import ContentRef, access_reportable, do_open_case, priority_of
from reelm.runtime import Runtime
from reelm.text import clean_text

# Per reporter and process (see reelm.ratelimit): enough for honest use, too few to flood a queue.
REPORTS_PER_HOUR = 20
MAX_EXPLANATION = 2000
MAX_LEGAL_GROUND = 500


def check_explanation(value: str) -> str:
    return clean_text("explanation", value, max_len=MAX_EXPLANATION, allow_empty=False)


def check_legal_ground(value: str | None) -> str | None:
    if value is None:
        return None
    return clean_text("legal_ground", value, max_len=MAX_LEGAL_GROUND) or None


async def do_file_report(
    session: AsyncSession,
    runtime: Runtime,
    ref: ContentRef,
    *,
    reporter_id: int,
    reporter_realm: str,
    category: Category,
    explanation: str,
    legal_ground: str | None,
) -> Report:
    """Store a report in the content's realm (the session's) and put its case in the queue."""
    info = await access_reportable(session, ref, reporter_id)
    earlier = await session.scalar(
        select(Report.id)
        .join(Case, Case.id == Report.case_id)
        .where(
            Report.reporter_id == reporter_id,
            Report.content_type == ref.type.value,
            Report.content_id == ref.id,
            Case.state == "open",
        )
    )
    if earlier is not None:
        raise Problem(
            409,
            "already-reported",
            "Already reported",
            "You reported this already; its review is pending.",
            report_id=str(earlier),
        )
    trusted = await session.get(TrustedFlagger, reporter_id) is not None
    now = datetime.now(UTC)
    case = await do_open_case(session, runtime, ref, info, category=category, now=now)
    report = Report(
        id=ids.new_id(runtime.settings.realm(ref.realm).code),
        case_id=case.id,
        content_type=ref.type.value,
        content_id=ref.id,
        content_owner_id=info.owner_id,
        reporter_id=reporter_id,
        reporter_ref=pseudonym(runtime.settings.secret_key, reporter_realm, reporter_id),
        reporter_realm=reporter_realm,
        source=(Source.TRUSTED_FLAGGER if trusted else Source.NOTICE).value,
        category=category.value,
        explanation=explanation,
        legal_ground=legal_ground,
        created_at=now,
    )
    session.add(report)
    case.report_count += 1
    case.trusted = case.trusted or trusted
    case.priority = priority_of(case)
    return report


def receipt(report: Report, realm: str, appeal: Appeal | None = None) -> ReportReceipt:
    return ReportReceipt(
        id=str(report.id),
        realm=realm,
        content_type=report.content_type,
        content_id=str(report.content_id),
        category=report.category,
        trusted_flagger=report.source == Source.TRUSTED_FLAGGER.value,
        received_at=report.created_at,
        status="decided" if report.decision_id is not None else "received",
        outcome=report.outcome,
        decided_at=report.decided_at,
        appeal_state=appeal.state if appeal is not None else None,
    )


async def appeals_of(session: AsyncSession, report_ids: list[int]) -> dict[int, Appeal]:
    """The reporters' appeals of these reports, by report."""
    rows = await session.scalars(select(Appeal).where(Appeal.report_id.in_(report_ids)))
    return {a.report_id: a for a in rows if a.report_id is not None}


async def access_own_report(session: AsyncSession, report_id: int, reporter_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None or report.reporter_id != reporter_id:
        raise not_found("Report")
    return report


async def my_reports(runtime: Runtime, reporter_id: int, *, limit: int = 50) -> list[ReportReceipt]:
    """The reporter's reports in every realm (each is kept where its content lives), newest first."""
    found: list[ReportReceipt] = []
    for realm in runtime.databases.realm_urls:
        async with runtime.databases.read(realm) as session:
            rows = list(
                await session.scalars(
                    select(Report)
                    .where(Report.reporter_id == reporter_id)
                    .order_by(Report.created_at.desc())
                    .limit(limit)
                )
            )
            appeals = await appeals_of(session, [r.id for r in rows])
            found += [receipt(r, realm, appeals.get(r.id)) for r in rows]
    return sorted(found, key=lambda r: r.received_at, reverse=True)[:limit]
