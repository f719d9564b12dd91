"""The self-contained HTML report: charts as inline SVG, the network as inline JS, nothing fetched.

A report is shared with people who open it offline or on locked-down machines, so it embeds its
data, styles and script, and sets a Content-Security-Policy that forbids any network request.
All crawled text is escaped: ads are hostile input.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from html import escape
from importlib import resources
from string import Template
from typing import Any

from vigil.app.analyst import charts, overview
from vigil.app.analyst.network import Graph, linked_ads

RISK_HIGH = 70


@dataclass
class ReportData:
    alias: str
    generated: str
    totals: overview.Totals
    by_site: overview.Activity
    by_country: overview.Activity
    risk: list[tuple[str, int]]
    indicators: list[tuple[str, int]]
    shared: list[overview.SharedEntity]
    graph: Graph
    escalations: list[dict[str, Any]]
    networks: list[dict[str, Any]] = field(default_factory=list)


def collect(
    es, alias: str, days: int = 30, max_graph_ads: int = 300, networks_alias: str | None = None
) -> ReportData:
    """Every number the report shows, read in a handful of aggregation requests."""
    return ReportData(
        alias=alias,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        totals=overview.totals(es, alias, RISK_HIGH),
        by_site=overview.activity(es, alias, "profile_id", days),
        by_country=overview.activity(es, alias, "country", days),
        risk=overview.risk_distribution(es, alias),
        indicators=overview.top_terms(es, alias, "indicator_ids", 15),
        shared=overview.shared_entities(es, alias),
        graph=linked_ads(es, alias, max_ads=max_graph_ads),
        escalations=overview.escalations(es, alias),
        networks=overview.top_networks(es, networks_alias),
    )


def _asset(name: str) -> str:
    return (resources.files("vigil.app.analyst") / "assets" / name).read_text(encoding="utf-8")


def _script_json(value: Any) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can close or confuse the element."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _risk_badge(risk: int) -> str:
    hue = 120 - 120 * max(0, min(100, risk)) / 100
    return f'<span class="risk" style="background:hsl({hue:.0f},70%,42%)">{risk}</span>'


def _stats(t: overview.Totals, graph: Graph) -> str:
    items = [
        (t.ads, "ads"),
        (t.sites, "sites"),
        (t.countries, "countries"),
        (t.high_risk, f"risk ≥ {RISK_HIGH}"),
        (t.escalated, "to escalate"),
        (graph.components if graph.nodes else 0, "linked networks"),
    ]
    return "".join(
        f'<div class="stat"><b>{value}</b><span>{escape(label)}</span></div>' for value, label in items
    )


def _shared_table(rows: list[overview.SharedEntity]) -> str:
    if not rows:
        return '<p class="empty-note">No entity appears in ads from more than one country.</p>'
    body = "".join(
        f'<tr><td>{escape(e.type)}</td><td class="mono">{escape(e.value)}</td><td class="num">{len(e.countries)}</td>'
        f"<td>{' '.join(f'<span class=tag>{escape(c)}</span>' for c in e.countries)}</td>"
        f'<td class="num">{e.ads}</td><td class="num">{e.sites}</td></tr>'
        for e in rows
    )
    return (
        "<table><thead><tr><th>type</th><th>value</th><th>countries</th><th></th><th>ads</th><th>sites</th></tr>"
        f"</thead><tbody>{body}</tbody></table>"
    )


def _network_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return '<p class="empty-note">No network yet (is `vigil worker networks` running?).</p>'
    body = "".join(
        f'<tr><td class="mono">{escape(n["network_id"])}</td><td class="num">{n.get("size", 0)}</td>'
        f"<td>{' '.join(f'<span class=tag>{escape(c)}</span>' for c in n.get('countries') or [])}</td>"
        f"<td>{escape(', '.join(n.get('sites') or []))}</td>"
        f'<td class="mono">{escape(", ".join((n.get("entities") or [])[:3]))}</td>'
        f"<td>{escape((n.get('first_seen') or '')[:10])} – {escape((n.get('last_seen') or '')[:10])}</td></tr>"
        for n in rows
    )
    return (
        "<table><thead><tr><th>network</th><th>ads</th><th>countries</th><th>sites</th><th>shared</th>"
        f"<th>seen</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _escalation_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return '<p class="empty-note">No ad is marked for escalation.</p>'
    body = "".join(
        f"<tr><td>{_risk_badge(int(r.get('risk') or 0))}</td>"
        f'<td>{escape(r.get("title") or "(untitled)")}<div class="mono">{escape(r.get("url") or "")}</div></td>'
        f"<td>{escape(r.get('profile_id') or '')}</td><td>{escape(r.get('country') or '')}</td>"
        f"<td>{' '.join(f'<span class=tag>{escape(i)}</span>' for i in r.get('indicator_ids') or [])}</td>"
        f"<td>{escape((r.get('last_seen') or '')[:16])}</td></tr>"
        for r in rows
    )
    return (
        "<table><thead><tr><th>risk</th><th>ad</th><th>site</th><th>country</th><th>indicators</th>"
        f"<th>last seen</th></tr></thead><tbody>{body}</tbody></table>"
    )


def _graph_legend() -> str:
    kinds = [
        ("#4e79a7", "phone"),
        ("#59a14f", "e-mail"),
        ("#edc948", "wallet"),
        ("#b07aa1", "handle"),
        ("#9c755f", "onion"),
    ]
    keys = "".join(f'<span class="key"><i style="background:{c}"></i>{n}</span>' for c, n in kinds)
    return (
        f'<div class="legend"><span class="key"><i style="background:linear-gradient(90deg,hsl(120,70%,45%),'
        f'hsl(0,70%,45%))"></i>ad, coloured by risk (dark ring: escalate)</span>{keys}</div>'
    )


def render(data: ReportData) -> str:
    t = data.totals
    span = f"{(t.first_seen or '?')[:10]} to {(t.last_seen or '?')[:10]}" if t.ads else "— none yet"
    ads_in_graph = sum(1 for n in data.graph.nodes if n["kind"] == "ad")
    graph_note = (
        f"{ads_in_graph} ads in {data.graph.components} networks, tied by "
        f"{len(data.graph.nodes) - ads_in_graph} shared phones, e-mails, wallets and handles. "
        "Drag a node, scroll to zoom, drag the background to pan, hover for details."
        if data.graph.nodes
        else "No two ads share an entity yet."
    )
    return Template(_asset("report.html")).substitute(
        generated=escape(data.generated),
        alias=escape(data.alias),
        span=escape(span),
        stats=_stats(t, data.graph),
        by_site=charts.stacked_bars(data.by_site.days, data.by_site.series),
        by_country=charts.stacked_bars(data.by_country.days, data.by_country.series),
        risk=charts.columns(data.risk),
        indicators=charts.bars(data.indicators),
        shared=_shared_table(data.shared),
        networks=_network_table(data.networks),
        graph_note=escape(graph_note),
        graph_legend=_graph_legend(),
        escalations=_escalation_table(data.escalations),
        graph_json=_script_json(data.graph.as_json()),
        graph_js=_asset("graph.js"),
    )


def summary(data: ReportData) -> dict[str, Any]:
    """What the CLI prints after writing the file."""
    return {
        "ads": data.totals.ads,
        "escalated": data.totals.escalated,
        "graph_nodes": len(data.graph.nodes),
        "graph_links": len(data.graph.links),
        "networks": data.graph.components if data.graph.nodes else 0,
        "shared_entities": [asdict(e) for e in data.shared[:3]],
        "cross_border_networks": sum(1 for n in data.networks if n.get("cross_border")),
    }
