"""The headcount-by-hour chart of the daily report: inline SVG, no script and nothing fetched,
so the page prints and opens offline as it is."""

from __future__ import annotations

import html
from datetime import datetime

from gate.i18n import words

W, H = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 24, 14, 30


def headcount_svg(points: list[tuple[datetime, int]], language: str = "en") -> str:
    """A line of people inside over the day: one point per (moment, inside)."""
    _ = words(language)
    title = html.escape(_("People inside, hour by hour"))
    if not points:
        return ""
    top = max(max(n for _t, n in points), 1)
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    span = max(t1 - t0, 1.0)

    def x(at: datetime) -> float:
        return LEFT + (at.timestamp() - t0) / span * (W - LEFT - RIGHT)

    def y(n: int) -> float:
        return TOP + (1 - n / top) * (H - TOP - BOTTOM)

    line = " ".join(f"{x(at):.1f},{y(n):.1f}" for at, n in points)
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{title}">',
        f"<title>{title}</title>",
        f'<line x1="{LEFT}" y1="{y(0):.1f}" x2="{W - RIGHT}" y2="{y(0):.1f}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y(0):.1f}" class="axis"/>',
    ]
    for n in sorted({0, top // 2, top}):
        parts.append(f'<text x="{LEFT - 6}" y="{y(n) + 4:.1f}" class="ylab">{n}</text>')
        parts.append(
            f'<line x1="{LEFT}" y1="{y(n):.1f}" x2="{W - RIGHT}" y2="{y(n):.1f}" class="grid"/>'
        )
    step = max(1, (len(points) - 1) // 12 + 1)  # at most about a dozen hour labels
    for i, (at, _n) in enumerate(points):
        if i % step == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x(at):.1f}" y="{H - BOTTOM + 16}" class="xlab">{at:%H:%M}</text>'
            )
    parts.append(f'<polyline class="line" points="{line}"/>')
    parts += [
        f'<circle cx="{x(at):.1f}" cy="{y(n):.1f}" r="2.5" class="dot"><title>{at:%H:%M} {n}'
        "</title></circle>"
        for at, n in points
    ]
    parts.append("</svg>")
    return "\n".join(parts)


CSS = """
svg.chart { width: 100%; max-width: 170mm; height: auto; display: block; margin: .3em 0 1em; }
svg.chart .axis { stroke: #333; stroke-width: 1; }
svg.chart .grid { stroke: #ccc; stroke-width: .5; stroke-dasharray: 3 3; }
svg.chart .line { fill: none; stroke: #1f5fa8; stroke-width: 2; stroke-linejoin: round; }
svg.chart .dot { fill: #1f5fa8; }
svg.chart text { font-size: 10px; fill: #333; }
svg.chart .ylab { text-anchor: end; }
svg.chart .xlab { text-anchor: middle; }
"""
