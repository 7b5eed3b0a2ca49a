"""Bar charts as inline SVG, drawn on the server, for the monthly report: they print exactly as shown,
in the PDF too, with no script, font or image to fetch. Labels are escaped; sizes are in SVG units."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

BAR = "#2f6fb2"
MUTED = "#9aa7b4"
TEXT = "#1f2933"


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-label="{}"><title>{}</title>',
        width,
        height,
        title,
        title,
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every part escaped above or below


def columns(values: Sequence[tuple[str, int]], *, title: str, label_every: int = 1) -> SafeString:
    """Vertical bars, one per value, left to right; every ``label_every``-th is labelled below."""
    width, height, top, bottom = 640, 170, 16, 22
    top_value = max((v for _, v in values), default=0) or 1
    step = width / max(len(values), 1)
    bar = max(step * 0.7, 1.0)
    plot = height - top - bottom
    body = [f'<line x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="{MUTED}"/>']
    for i, (label, value) in enumerate(values):
        h = plot * value / top_value
        x = i * step + (step - bar) / 2
        y = height - bottom - h
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{BAR}"/>')
        if value:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle" '
                f'fill="{TEXT}">{value}</text>'
            )
        if i % label_every == 0:
            body.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - 7}" font-size="10" text-anchor="middle" '
                f'fill="{TEXT}">{escape(label)}</text>'
            )
    return _svg(width, height, title, body)


Row = tuple[str, Decimal | int | None, str]


def bars(rows: Sequence[Row], *, title: str, top: Decimal | int) -> SafeString:
    """Horizontal bars ``(label, value, text shown)``, scaled to ``top``; no value, no bar."""
    width, row_height, label_width, text_width = 640, 24, 190, 90
    plot = width - label_width - text_width
    height = max(len(rows), 1) * row_height + 4
    body = []
    for i, (label, value, shown) in enumerate(rows):
        y = i * row_height + 4
        body.append(
            f'<text x="{label_width - 8}" y="{y + 14}" font-size="11" text-anchor="end" '
            f'fill="{TEXT}">{escape(label)}</text>'
        )
        length = plot * min(Decimal(value) / Decimal(top), Decimal(1)) if value and top else Decimal(0)
        body.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row_height - 8}" '
            f'fill="{BAR}"/>'
        )
        body.append(
            f'<text x="{label_width + float(length) + 6:.1f}" y="{y + 14}" font-size="11" '
            f'fill="{TEXT}">{escape(shown)}</text>'
        )
    return _svg(width, height, title, body)
