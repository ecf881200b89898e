"""Pictures drawn on the server as inline SVG (no script, allowed by the CSP): a key's
rotation timeline — when its material was created and rotated, and when it rotates next.

Text inside is escaped; the picture has a title and a description for screen readers,
and the same facts are in the table beside it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

WIDTH = 640
HEIGHT = 96
MARGIN = 48
AXIS_Y = 40


def _day(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


def rotation_timeline(materials: Sequence[dict[str, Any]], created: float, next_rotation: float | None) -> Markup:
    points: list[tuple[float, str]] = [(created, "created")]
    for m in materials:
        if "RotationDate" in m:
            points.append((float(m["RotationDate"]), str(m.get("RotationType", "rotation")).lower().replace("_", "-")))
    points.sort()
    end = max([p[0] for p in points] + ([float(next_rotation)] if next_rotation else []))
    span = max(end - created, 86_400.0)

    def x(t: float) -> float:
        return round(MARGIN + (t - created) / span * (WIDTH - 2 * MARGIN), 1)

    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="tl-title tl-desc">',
        '<title id="tl-title">Key material timeline</title>',
        f'<desc id="tl-desc">{escape(_describe(points, next_rotation))}</desc>',
        f'<line class="axis" x1="{MARGIN}" y1="{AXIS_Y}" x2="{WIDTH - MARGIN}" y2="{AXIS_Y}"/>',
    ]
    for i, (t, kind) in enumerate(points):
        label_y = AXIS_Y + (22 if i % 2 == 0 else 38)
        parts.append(
            f'<g class="point {escape(kind)}"><circle cx="{x(t)}" cy="{AXIS_Y}" r="6"><title>{escape(kind)} '
            f'{_day(t)}</title></circle><text x="{x(t)}" y="{label_y}" text-anchor="middle">{_day(t)}</text></g>'
        )
    if next_rotation:
        t = float(next_rotation)
        parts.append(
            f'<g class="point next"><circle cx="{x(t)}" cy="{AXIS_Y}" r="6"><title>next rotation {_day(t)}</title>'
            f'</circle><text x="{x(t)}" y="{AXIS_Y - 14}" text-anchor="middle">next {_day(t)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(points: list[tuple[float, str]], next_rotation: float | None) -> str:
    text = "; ".join(f"{kind} on {_day(t)}" for t, kind in points)
    if next_rotation:
        text += f"; next rotation on {_day(float(next_rotation))}"
    return text
