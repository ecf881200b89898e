"""Requests per minute by operation, with the error rate (issue 21: "a chart of requests
per minute by operation and error rate"): LookupEvents entries counted per minute, and
the picture drawn on the server as inline SVG (no script, allowed by the CSP).

Bounded: at most ``MAX_BARS`` one-minute bars; the operations beyond the ``TOP`` most
frequent are drawn together as "Other". Text inside the SVG is escaped; the picture has a
title and a description for screen readers, and the page shows the same numbers in a table.
Colours are the Okabe–Ito palette (distinguishable with colour-vision deficiencies); the
error rate is a dashed line with its own axis, so it does not rely on colour either.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from markupsafe import Markup, escape

MAX_BARS = 120
TOP = 6
OTHER = "Other"
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
OTHER_COLOUR = "#8C8C8C"
ERROR_COLOUR = "#B00020"
WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP_MARGIN, BOTTOM = 48, 52, 16, 44


@dataclass(frozen=True, slots=True)
class Minute:
    start: float  # epoch seconds, a whole minute
    counts: Mapping[str, int]  # by legend entry (operation or OTHER)
    total: int
    errors: int

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.total if self.total else None

    @property
    def label(self) -> str:
        return time.strftime("%H:%M", time.gmtime(self.start))


@dataclass(frozen=True, slots=True)
class Activity:
    start: float
    end: float
    minutes: tuple[Minute, ...]
    legend: tuple[tuple[str, str], ...]  # (operation or OTHER, colour), most frequent first
    events: int
    errors: int
    by_operation: tuple[tuple[str, int, int], ...]  # (operation, requests, errors), most first


def _error_of(entry: Mapping[str, Any]) -> bool:
    try:
        event = orjson.loads(entry.get("CloudTrailEvent") or "{}")
    except orjson.JSONDecodeError:
        return False
    return isinstance(event, dict) and bool(event.get("errorCode"))


def aggregate(entries: Iterable[Mapping[str, Any]], start: float, end: float) -> Activity:
    """Count LookupEvents entries per minute of [start, end) (at most MAX_BARS minutes,
    the newest ones) by operation (EventName), with their errors."""
    last = math.floor(end / 60) * 60
    first = max(math.floor(start / 60) * 60, last - (MAX_BARS - 1) * 60)
    rows: list[tuple[int, str, bool]] = []
    for entry in entries:
        when = float(entry.get("EventTime") or 0)
        if not first <= when < last + 60:
            continue
        rows.append((int((when - first) // 60), str(entry.get("EventName") or "?"), _error_of(entry)))
    totals = Counter(name for _, name, _ in rows)
    failed = Counter(name for _, name, error in rows if error)
    ranked = sorted(totals, key=lambda n: (-totals[n], n))
    shown = ranked[:TOP] if len(ranked) <= TOP else ranked[:TOP - 1]
    legend = [(name, PALETTE[i]) for i, name in enumerate(shown)]
    if len(ranked) > len(shown):
        legend.append((OTHER, OTHER_COLOUR))
    count = int((last - first) // 60) + 1
    per_minute: list[Counter[str]] = [Counter() for _ in range(count)]
    errors = [0] * count
    for index, name, error in rows:
        per_minute[index][name if name in shown else OTHER] += 1
        errors[index] += error
    minutes = tuple(Minute(first + 60 * i, dict(per_minute[i]), sum(per_minute[i].values()), errors[i])
                    for i in range(count))
    return Activity(first, last + 60, minutes, tuple(legend), len(rows), sum(errors),
                    tuple((n, totals[n], failed[n]) for n in ranked))


def chart(activity: Activity) -> Markup:
    """Stacked bars (requests per minute by operation) and the error-rate line."""
    minutes = activity.minutes
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP_MARGIN - BOTTOM
    peak = max((m.total for m in minutes), default=0)
    scale = _nice(peak)
    bar_w = plot_w / max(1, len(minutes))
    base = TOP_MARGIN + plot_h
    colours = dict(activity.legend)
    parts = [
        f'<svg class="activity" id="activity-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        ' role="img" aria-labelledby="ac-title ac-desc">',
        '<title id="ac-title">Requests per minute by operation, with the error rate</title>',
        f'<desc id="ac-desc">{escape(describe(activity))}</desc>',
    ]
    for fraction in (0.0, 0.5, 1.0):  # left axis: requests; right axis: error rate
        y = round(base - fraction * plot_h, 1)
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{y + 4}" text-anchor="end">{round(scale * fraction)}</text>'
                     f'<text class="tick rate" x="{WIDTH - RIGHT + 6}" y="{y + 4}">{round(100 * fraction)}%</text>')
    for i, m in enumerate(minutes):
        x = LEFT + i * bar_w
        y = base
        for name, _ in activity.legend:
            n = m.counts.get(name, 0)
            if not n:
                continue
            h = n / scale * plot_h
            y -= h
            parts.append(f'<rect class="bar" x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                         f'height="{h:.1f}" fill="{colours[name]}"><title>{m.label} UTC · {escape(name)}: {n}'
                         '</title></rect>')
    step = max(1, math.ceil(len(minutes) / 8))
    for i in range(0, len(minutes), step):
        x = LEFT + (i + 0.5) * bar_w
        parts.append(f'<text class="tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">{minutes[i].label}</text>')
    points = [(LEFT + (i + 0.5) * bar_w, base - (m.error_rate or 0.0) * plot_h)
              for i, m in enumerate(minutes) if m.total]
    if points:
        parts.append(f'<polyline class="error-rate" fill="none" stroke="{ERROR_COLOUR}" stroke-width="2" '
                     'stroke-dasharray="6 3" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        # white-ringed points: visible on top of any bar colour
        parts += [f'<circle class="error-point" cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{ERROR_COLOUR}" '
                  'stroke="#fff" stroke-width="1.5"/>' for x, y in points]
    parts.append(f'<text class="axis-label" x="{LEFT}" y="{HEIGHT - 6}">Minute (UTC)</text>'
                 f'<text class="axis-label" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">'
                 'Dashed line: error rate</text></svg>')
    return Markup("".join(parts))


def swatch(colour: str) -> Markup:
    """A legend's colour square (inline SVG: a style attribute would break the CSP)."""
    return Markup(f'<svg class="swatch" width="12" height="12" aria-hidden="true"><rect width="12" height="12" '
                  f'fill="{escape(colour)}"/></svg>')


def describe(activity: Activity) -> str:
    if not activity.events:
        return "No requests in this window."
    busiest = max(activity.minutes, key=lambda m: m.total)
    ops = ", ".join(f"{name} {n}" for name, n, _ in activity.by_operation[:TOP])
    rate = activity.errors / activity.events
    return (f"{activity.events} requests over {len(activity.minutes)} minutes; busiest minute {busiest.label} UTC "
            f"with {busiest.total}; by operation: {ops}; {activity.errors} errors ({rate:.0%}).")


def _nice(peak: int) -> int:
    """The left axis' top: the peak rounded up to 2, 4, 6 or 10 times a power of ten (an
    even number, so the middle gridline is a whole count)."""
    if peak <= 2:
        return 2
    magnitude = int(10 ** math.floor(math.log10(peak)))
    return next(step * magnitude for step in (2, 4, 6, 10) if peak <= step * magnitude)
