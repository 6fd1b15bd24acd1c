"""Charts of a creator's figures: the geometry of server-rendered SVG (lines, bars, the retention curve, the
heatmap) and the table every chart also has (shown beside it, and exported as CSV). Pure: no I/O, no markup;
the templates draw what this computes (templates/_studio_charts.html)."""

from __future__ import annotations

from dataclasses import dataclass, field

from reelm.analytics.schemas import AccountFigures, Share, VideoFigures

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28  # margins, for the axes' labels
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    label: str  # what the shape stands for (a tooltip, <title>)
    level: int = 0  # 0..4, the heatmap's shade


@dataclass
class Chart:
    key: str  # the CSV export's `chart`
    kind: str  # line, bar, retention, heatmap, hbar
    title: str
    summary: str  # one sentence a screen reader reads for the picture
    head: list[str]
    rows: list[list[object]]
    path: str = ""  # line and retention charts
    area: str = ""
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    empty: bool = False


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def _plot_x(i: int, n: int) -> float:
    inner = WIDTH - LEFT - RIGHT
    return LEFT + (inner * i / (n - 1) if n > 1 else inner / 2)


def _plot_y(value: float, top: float) -> float:
    inner = HEIGHT - TOP - BOTTOM
    return TOP + inner * (1 - value / top)


def _y_labels(top: float, fmt: str = "{:g}") -> list[Label]:
    return [Label(LEFT - 6, _plot_y(top * f, top) + 4, fmt.format(top * f), "end") for f in (0, 0.5, 1)]


def line_chart(
    key: str, title: str, xs: list[str], ys: list[float], *, kind: str = "line", percent: bool = False
) -> Chart:
    top = 1.0 if percent else _nice_max(max(ys, default=0))
    points = [(_plot_x(i, len(ys)), _plot_y(y, top)) for i, y in enumerate(ys)]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    area = (
        f"{path} L{points[-1][0]:.1f},{_plot_y(0, top):.1f} L{points[0][0]:.1f},{_plot_y(0, top):.1f} Z"
        if points
        else ""
    )
    every = max(1, len(xs) // 6)
    labels = [Label(_plot_x(i, len(xs)), HEIGHT - 8, x) for i, x in enumerate(xs) if i % every == 0]
    labels += _y_labels(top, "{:.0%}" if percent else "{:g}")
    return Chart(key, kind, title, "", [], [], path=path, area=area, labels=labels, empty=not any(ys))


def bar_chart(key: str, title: str, xs: list[str], ys: list[float]) -> Chart:
    top = _nice_max(max(ys, default=0))
    inner = WIDTH - LEFT - RIGHT
    slot = inner / max(len(ys), 1)
    rects = [
        Rect(
            LEFT + i * slot + slot * 0.15,
            _plot_y(y, top),
            slot * 0.7,
            _plot_y(0, top) - _plot_y(y, top),
            f"{xs[i]}: {y:g}",
        )
        for i, y in enumerate(ys)
    ]
    every = max(1, len(xs) // 6)
    labels = [Label(LEFT + i * slot + slot / 2, HEIGHT - 8, x) for i, x in enumerate(xs) if i % every == 0]
    return Chart(
        key, "bar", title, "", [], [], rects=rects, labels=labels + _y_labels(top), empty=not any(ys)
    )


def share_chart(key: str, title: str, shares: list[Share]) -> Chart:
    """Horizontal bars: a breakdown (sources, countries, realms), largest first."""
    rects = [Rect(0, i, s.share, 0, f"{s.value}: {s.views}") for i, s in enumerate(shares)]
    chart = Chart(
        key, "hbar", title, "", ["value", "views", "share"], [[s.value, s.views, s.share] for s in shares]
    )
    chart.rects = rects
    chart.empty = not shares
    chart.summary = "; ".join(f"{s.value} {s.share:.0%}" for s in shares[:5]) or "No views yet."
    return chart


def heatmap(figures: AccountFigures) -> Chart:
    cells = {(c.weekday, c.hour): c.followers for c in figures.heatmap}
    peak = max(cells.values(), default=0)
    cell_w, cell_h = (WIDTH - LEFT - RIGHT) / 24, (HEIGHT - TOP - BOTTOM) / 7
    rects = [
        Rect(
            LEFT + hour * cell_w,
            TOP + day * cell_h,
            cell_w - 1,
            cell_h - 1,
            f"{WEEKDAYS[day]} {hour:02d}:00: {n}",
            0 if not peak or not n else 1 + min(3, int(4 * n / (peak + 1))),
        )
        for (day, hour), n in sorted(cells.items())
    ]
    labels = [Label(LEFT - 6, TOP + d * cell_h + cell_h / 2 + 4, WEEKDAYS[d], "end") for d in range(7)]
    labels += [Label(LEFT + h * cell_w + cell_w / 2, HEIGHT - 8, f"{h:02d}") for h in range(0, 24, 3)]
    best = max(cells.items(), key=lambda kv: kv[1], default=None)
    summary = (
        f"Most active: {WEEKDAYS[best[0][0]]} {best[0][1]:02d}:00 ({best[1]} followers)"
        if best and best[1]
        else "No follower activity yet."
    )
    head = ["weekday", *[f"{h:02d}" for h in range(24)]]
    rows: list[list[object]] = [[WEEKDAYS[d], *[cells.get((d, h), 0) for h in range(24)]] for d in range(7)]
    return Chart(
        "heatmap",
        "heatmap",
        "When your followers are active",
        summary,
        head,
        rows,
        rects=rects,
        labels=labels,
        empty=not peak,
    )


def account_charts(figures: AccountFigures) -> list[Chart]:
    days = [d.day.isoformat() for d in figures.days]
    short = [d.day.strftime("%d %b") for d in figures.days]
    views = line_chart("days", "Views per day", short, [d.views for d in figures.days])
    views.head = ["day", "views", "likes", "new_followers", "watch_time_s"]
    views.rows = [
        [d.day.isoformat(), d.views, d.likes, d.new_followers, d.watch_time_s] for d in figures.days
    ]
    views.summary = f"{figures.totals.views} views from {days[0]} to {days[-1]}" if days else ""
    growth = line_chart("followers", "Followers", short, [float(d.followers or 0) for d in figures.followers])
    growth.head = ["day", "followers", "change"]
    growth.rows = [[d.day.isoformat(), d.followers, d.new_followers] for d in figures.followers]
    growth.empty = not figures.followers
    growth.summary = (
        f"{figures.followers[0].followers} followers on {days[0]}, "
        f"{figures.followers[-1].followers} on {days[-1]}"
        if figures.followers
        else ""
    )
    top = bar_chart(
        "top_videos",
        "Top videos",
        [str(i + 1) for i in range(len(figures.top_videos))],
        [t.views for t in figures.top_videos],
    )
    top.head = ["video", "caption", "views", "watch_time_s", "likes"]
    top.rows = [[t.id, t.caption, t.views, t.watch_time_s, t.likes] for t in figures.top_videos]
    top.summary = (
        f"Most viewed: {figures.top_videos[0].caption or figures.top_videos[0].id} "
        f"({figures.top_videos[0].views} views)"
        if figures.top_videos
        else "No views yet."
    )
    return [
        views,
        growth,
        top,
        heatmap(figures),
        share_chart("sources", "Traffic sources", figures.sources),
        share_chart("countries", "Countries", figures.countries),
        share_chart("realms", "Realms", figures.realms),
    ]


def video_charts(figures: VideoFigures) -> list[Chart]:
    short = [d.day.strftime("%d %b") for d in figures.days]
    retention = line_chart(
        "retention",
        "Retention",
        [f"{s}s" for s in range(len(figures.retention))],
        figures.retention,
        kind="retention",
        percent=True,
    )
    retention.head = ["second", "still_watching"]
    retention.rows = [[s, share] for s, share in enumerate(figures.retention)]
    retention.summary = (
        f"{figures.retention[min(3, len(figures.retention) - 1)]:.0%} still watching at "
        f"{min(3, len(figures.retention) - 1)}s, {figures.retention[-1]:.0%} at the end"
        if figures.retention and not retention.empty
        else "No views yet."
    )
    days = line_chart("days", "Views per day", short, [d.views for d in figures.days])
    days.head = ["day", "views", "likes", "new_followers", "watch_time_s"]
    days.rows = [[d.day.isoformat(), d.views, d.likes, d.new_followers, d.watch_time_s] for d in figures.days]
    days.summary = f"{figures.totals.views} views in the range"
    return [
        retention,
        days,
        share_chart("sources", "Traffic sources", figures.sources),
        share_chart("countries", "Countries", figures.countries),
        share_chart("realms", "Realms", figures.realms),
    ]


def account_table(figures: AccountFigures, key: str) -> list[list[object]]:
    chart = next(c for c in account_charts(figures) if c.key == key)
    return [list(chart.head), *chart.rows]


def video_table(figures: VideoFigures, key: str) -> list[list[object]]:
    chart = next(c for c in video_charts(figures) if c.key == key)
    return [list(chart.head), *chart.rows]
