"""Small inline-SVG charts, so the report opens with no network and no JavaScript library.

Every label comes from crawled ads or configuration and is escaped; each bar carries a
``<title>`` so hovering shows its exact value.
"""

from __future__ import annotations

from html import escape

PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]


def _empty(width: int, height: int, message: str = "no data") -> str:
    return (
        f'<svg class="chart empty" viewBox="0 0 {width} {height}" role="img">'
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" class="muted">{escape(message)}</text></svg>'
    )


def _legend(names: list[str]) -> str:
    items = "".join(
        f'<span class="key"><i style="background:{PALETTE[i % len(PALETTE)]}"></i>{escape(name)}</span>'
        for i, name in enumerate(names)
    )
    return f'<div class="legend">{items}</div>'


def stacked_bars(labels: list[str], series: dict[str, list[int]], width: int = 720, height: int = 260) -> str:
    """Columns per label (e.g. per day), stacked by series (e.g. by country), with a legend."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(width, height)
    left, bottom, top = 36, 40, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(totals)
    step = plot_w / len(labels)
    bar_w = max(step * 0.8, 1)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img">']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" class="tick">{round(peak * frac)}</text>'
        )
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        y = top + plot_h
        for s, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / peak
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)} · {escape(name)}: {values[i]}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{left + i * step + step / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                f'class="tick">{escape(label[5:] if len(label) == 10 else label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts) + _legend(list(series))


def columns(pairs: list[tuple[str, int]], width: int = 480, height: int = 240, color: str = "#e15759") -> str:
    """A plain column chart (a histogram when the labels are ranges)."""
    if not pairs or not any(v for _, v in pairs):
        return _empty(width, height)
    left, bottom, top = 36, 36, 10
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max(v for _, v in pairs)
    step = plot_w / len(pairs)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img">']
    parts.append(f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="tick">{peak}</text>')
    parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{top + plot_h}" y2="{top + plot_h}" class="grid"/>')
    for i, (label, value) in enumerate(pairs):
        h = plot_h * value / peak
        x = left + i * step + step * 0.1
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" '
            f'fill="{color}"><title>{escape(label)}: {value}</title></rect>'
        )
        parts.append(
            f'<text x="{left + i * step + step / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
            f'class="tick">{escape(label.split("–")[0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bars(pairs: list[tuple[str, int]], width: int = 480, row: int = 22, color: str = "#4e79a7") -> str:
    """Horizontal bars, label on the left: readable with long names such as indicator ids."""
    if not pairs:
        return _empty(width, 80)
    label_w = 190
    height = row * len(pairs) + 8
    peak = max(v for _, v in pairs) or 1
    plot_w = width - label_w - 48
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img">']
    for i, (label, value) in enumerate(pairs):
        y = 4 + i * row
        w = max(plot_w * value / peak, 1)
        short = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.65:.1f}" text-anchor="end" class="tick">{escape(short)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" fill="{color}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.65:.1f}" class="tick">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
