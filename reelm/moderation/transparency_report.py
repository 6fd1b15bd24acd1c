"""Transparency reports per realm and period (DSA Art. 15/24): counts only, no one named.

Notices by category and by source, decisions by action, the share taken by automation alone, the median
time from the first notice to a person's decision, appeals and reversals, and legal orders. The same
numbers serve the HTML page, the JSON and CSV downloads and `reelm review report`.
"""

from __future__ import annotations

import csv
import io
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelm.moderation.models import (
    Action,
    Appeal,
    AppealState,
    Automation,
    Category,
    Decision,
    LegalOrder,
    Report,
    Source,
)
from reelm.text import invalid

MAX_PERIOD_DAYS = 366 * 5


@dataclass
class TransparencyReport:
    realm: str
    start: str  # first day, inclusive (UTC)
    end: str  # last day, inclusive (UTC)
    notices_by_category: dict[str, int] = field(default_factory=dict)
    notices_by_source: dict[str, int] = field(default_factory=dict)
    actions_by_type: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    automated_decisions: int = 0  # fully automated
    share_automated: float = 0.0
    median_hours_to_action: float | None = None  # first notice → a person's decision
    appeals_filed: int = 0
    appeals_decided: int = 0
    reversals: int = 0
    legal_orders: int = 0
    legal_order_targets: int = 0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def check_period(start: date | None, end: date | None, *, today: date | None = None) -> tuple[date, date]:
    """The period (both days inclusive); by default the last 30 days."""
    today = today or datetime.now(UTC).date()
    end = end or today
    start = start or end - timedelta(days=29)
    if start > end:
        raise invalid("from", "must not be after 'to'")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise invalid("from", f"a report covers at most {MAX_PERIOD_DAYS} days")
    return start, end


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


async def build_report(session: AsyncSession, realm: str, start: date, end: date) -> TransparencyReport:
    """The realm's report for the period, from the realm's own database (the session's)."""
    lo, hi = period_bounds(start, end)
    report = TransparencyReport(realm=realm, start=start.isoformat(), end=end.isoformat())
    in_period = (Report.created_at >= lo, Report.created_at < hi)
    by_category = dict(
        (
            await session.execute(
                select(Report.category, func.count()).where(*in_period).group_by(Report.category)
            )
        ).all()
    )
    report.notices_by_category = {c.value: int(by_category.get(c.value, 0)) for c in Category}
    by_source = dict(
        (
            await session.execute(
                select(Report.source, func.count()).where(*in_period).group_by(Report.source)
            )
        ).all()
    )
    report.notices_by_source = {s.value: int(by_source.get(s.value, 0)) for s in Source}

    decisions = list(
        await session.scalars(select(Decision).where(Decision.created_at >= lo, Decision.created_at < hi))
    )
    originals = [d for d in decisions if d.reverses_id is None]
    counts = {a.value: 0 for a in Action}
    for d in originals:
        counts[d.action] = counts.get(d.action, 0) + 1
    report.actions_by_type = counts
    report.decisions = len(originals)
    report.automated_decisions = sum(1 for d in originals if d.automated_decision == Automation.FULLY.value)
    report.share_automated = (
        round(report.automated_decisions / report.decisions, 4) if report.decisions else 0.0
    )
    waits = [
        (d.created_at - d.first_notice_at).total_seconds() / 3600
        for d in originals
        if d.reviewer_id is not None and d.first_notice_at is not None
    ]
    report.median_hours_to_action = round(statistics.median(waits), 2) if waits else None

    report.appeals_filed = int(
        await session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.created_at >= lo, Appeal.created_at < hi)
        )
        or 0
    )
    decided = (
        await session.execute(
            select(Appeal.state, func.count())
            .where(Appeal.decided_at >= lo, Appeal.decided_at < hi)
            .group_by(Appeal.state)
        )
    ).all()
    report.appeals_decided = sum(int(n) for _, n in decided)
    report.reversals = sum(int(n) for state, n in decided if state == AppealState.REVERSED.value)
    orders = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(LegalOrder.target_count), 0)).where(
                LegalOrder.applied_at >= lo, LegalOrder.applied_at < hi
            )
        )
    ).one()
    report.legal_orders, report.legal_order_targets = int(orders[0]), int(orders[1])
    return report


def to_csv(report: TransparencyReport) -> str:
    """One row per figure: section, key, value (a spreadsheet can pivot it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["realm", "start", "end", "section", "key", "value"])
    head = [report.realm, report.start, report.end]
    for section in ("notices_by_category", "notices_by_source", "actions_by_type"):
        values: dict[str, int] = getattr(report, section)
        for key, value in values.items():
            writer.writerow([*head, section, key, value])
    for key in (
        "decisions",
        "automated_decisions",
        "share_automated",
        "median_hours_to_action",
        "appeals_filed",
        "appeals_decided",
        "reversals",
        "legal_orders",
        "legal_order_targets",
    ):
        value = getattr(report, key)
        writer.writerow([*head, "totals", key, "" if value is None else value])
    return out.getvalue()


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float  # percent of the chart's width
    y: int


def bars(values: dict[str, int], *, row_height: int = 22, label: Any = None) -> list[Bar]:
    """Horizontal bars for an inline SVG chart (drawn by the template, no script)."""
    top = max(values.values(), default=0) or 1
    return [
        Bar(label(key) if label else key, value, round(100 * value / top, 2), index * row_height)
        for index, (key, value) in enumerate(values.items())
    ]
