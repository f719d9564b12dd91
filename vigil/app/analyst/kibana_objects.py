"""Kibana saved objects for Vigil: data views, saved searches, Lens visualisations, one dashboard.

Built in code so the aliases follow configuration and so that tests can read each visualisation's
state back into an Elasticsearch aggregation (``vigil.app.analyst.lens``). ``deploy/kibana/vigil.ndjson``
is this module's output for the default aliases (``vigil kibana export``), importable by hand in
Kibana ≥ 8.9 (Stack Management → Saved objects → Import) or with ``vigil kibana import``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vigil.core.config import Indices

CORE_VERSION = "8.8.0"
RECORDS = "___records___"
LENS_VERSION = "8.9.0"
RISK_RANGES = [(0, 20), (20, 40), (40, 60), (60, 80), (80, 101)]


def _data_view(key: str, title: str, time_field: str, name: str) -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": f"vigil-{key}",
        "attributes": {"title": title, "name": name, "timeFieldName": time_field},
        "references": [],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.0.0",
    }


def _saved_search(
    sid: str, title: str, query: dict[str, Any], columns: list[str], sort: list[list[str]]
) -> dict[str, Any]:
    """A Discover search on the ads data view, its condition as an ES query filter (runnable as is)."""
    source = {
        "query": {"query": "", "language": "kuery"},
        "filter": [
            {
                "meta": {
                    "alias": title,
                    "negate": False,
                    "disabled": False,
                    "type": "custom",
                    "key": "query",
                    "value": json.dumps(query),
                    "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index",
                },
                "query": query,
                "$state": {"store": "appState"},
            }
        ],
        "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
    }
    ref = {"type": "index-pattern", "id": "vigil-ads"}
    return {
        "type": "search",
        "id": sid,
        "attributes": {
            "title": title,
            "description": "",
            "columns": columns,
            "sort": sort,
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source)},
        },
        "references": [
            {**ref, "name": "kibanaSavedObjectMeta.searchSourceJSON.index"},
            {**ref, "name": "kibanaSavedObjectMeta.searchSourceJSON.filter[0].meta.index"},
        ],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.0.0",
    }


def _count() -> dict[str, Any]:
    return {
        "label": "Count",
        "dataType": "number",
        "operationType": "count",
        "sourceField": RECORDS,
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def _unique_count(field: str, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "number",
        "operationType": "unique_count",
        "sourceField": field,
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def _max(field: str, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "number",
        "operationType": "max",
        "sourceField": field,
        "isBucketed": False,
        "scale": "ratio",
        "params": {"emptyAsNull": True},
    }


def _date_histogram(field: str) -> dict[str, Any]:
    return {
        "label": field,
        "dataType": "date",
        "operationType": "date_histogram",
        "sourceField": field,
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }


def _terms(field: str, label: str, size: int, order_by: str) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "string",
        "operationType": "terms",
        "sourceField": field,
        "isBucketed": True,
        "scale": "ordinal",
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": order_by},
            "orderDirection": "desc",
            "otherBucket": False,
            "missingBucket": False,
            "parentFormat": {"id": "terms"},
        },
    }


def _ranges(field: str, label: str, ranges: list[tuple[int, int]]) -> dict[str, Any]:
    return {
        "label": label,
        "dataType": "number",
        "operationType": "range",
        "sourceField": field,
        "isBucketed": True,
        "scale": "ordinal",
        "params": {
            "type": "range",
            "ranges": [{"from": a, "to": b, "label": f"{a}–{b - 1}"} for a, b in ranges],
            "maxBars": "auto",
            "includeEmptyRows": True,
            "parentFormat": {"id": "range", "params": {"template": "arrow_right", "replaceInfinity": True}},
        },
    }


def _lens(
    lid: str,
    title: str,
    data_view: str,
    vis_type: str,
    columns: dict[str, Any],
    order: list[str],
    visualization: dict[str, Any],
) -> dict[str, Any]:
    return {
        "type": "lens",
        "id": lid,
        "attributes": {
            "title": title,
            "description": "",
            "visualizationType": vis_type,
            "state": {
                "datasourceStates": {
                    "formBased": {
                        "layers": {
                            "layer1": {"columns": columns, "columnOrder": order, "incompleteColumns": {}}
                        }
                    }
                },
                "visualization": visualization,
                "query": {"query": "", "language": "kuery"},
                "filters": [],
                "internalReferences": [],
                "adHocDataViews": {},
            },
        },
        "references": [
            {"type": "index-pattern", "id": data_view, "name": "indexpattern-datasource-layer-layer1"}
        ],
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": LENS_VERSION,
    }


def _xy(series: str, x: str, y: str, split: str | None) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "layerId": "layer1",
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
        "accessors": [y],
    }
    if split:
        layer["splitAccessor"] = split
    return {
        "legend": {"isVisible": True, "position": "right"},
        "valueLabels": "hide",
        "preferredSeriesType": series,
        "layers": [layer],
    }


def _over_time(
    lid: str, title: str, data_view: str, time_field: str, split_field: str | None, split_label: str
) -> dict[str, Any]:
    columns = {"x": _date_histogram(time_field), "y": _count()}
    order = ["x", "y"]
    if split_field:
        columns["s"] = _terms(split_field, split_label, 10, "y")
        order = ["s", "x", "y"]
    return _lens(
        lid,
        title,
        data_view,
        "lnsXY",
        columns,
        order,
        _xy("bar_stacked", "x", "y", "s" if split_field else None),
    )


def _spread(lid: str, title: str, field: str, label: str) -> dict[str, Any]:
    """Entities of one kind ordered by how many countries their ads span."""
    columns = {
        "t": _terms(field, label, 15, "c"),
        "c": _unique_count("country", "Countries"),
        "n": {**_count(), "label": "Ads"},
    }
    table = {"layerId": "layer1", "layerType": "data", "columns": [{"columnId": c} for c in ("t", "c", "n")]}
    return _lens(lid, title, "vigil-ads", "lnsDatatable", columns, ["t", "c", "n"], table)


def visualisations() -> list[dict[str, Any]]:
    pie = {
        "shape": "donut",
        "layers": [
            {
                "layerId": "layer1",
                "layerType": "data",
                "primaryGroups": ["g"],
                "metrics": ["m"],
                "numberDisplay": "percent",
                "categoryDisplay": "default",
                "legendDisplay": "default",
                "nestedLegend": False,
            }
        ],
    }
    widespread = {
        "t": _terms("value", "Entity", 15, "c"),
        "k": _terms("type", "Type", 5, "c"),
        "c": _unique_count("countries", "Countries"),
        "a": {**_count(), "label": "Entity records"},
    }
    # cross-border networks first (true sorts after false: descending), then the largest
    cross_border = _terms("cross_border", "Cross-border", 2, "s")
    cross_border["params"]["orderBy"] = {"type": "alphabetical"}
    networks = {
        "x": cross_border,
        "n": _terms("network_id", "Network", 20, "s"),
        "c": _max("country_count", "Countries"),
        "s": _max("size", "Ads"),
        "w": _max("site_count", "Sites"),
    }
    return [
        _lens(
            "vigil-networks-cross-border",
            "Networks, largest cross-border first",
            "vigil-networks",
            "lnsDatatable",
            networks,
            ["x", "n", "c", "s", "w"],
            {
                "layerId": "layer1",
                "layerType": "data",
                "columns": [{"columnId": c} for c in ("x", "n", "c", "s", "w")],
            },
        ),
        _over_time(
            "vigil-new-ads-by-country",
            "New ads over time by country",
            "vigil-ads",
            "first_seen",
            "country",
            "Country",
        ),
        _over_time(
            "vigil-new-ads-by-site",
            "New ads over time by site",
            "vigil-ads",
            "first_seen",
            "profile_id",
            "Site",
        ),
        _lens(
            "vigil-risk-histogram",
            "Risk histogram",
            "vigil-ads",
            "lnsXY",
            {"r": _ranges("risk", "Risk", RISK_RANGES), "y": _count()},
            ["r", "y"],
            _xy("bar", "r", "y", None),
        ),
        _spread("vigil-phones-by-countries", "Top phones by number of countries", "phones", "Phone"),
        _spread("vigil-wallets-by-countries", "Top wallets by number of countries", "wallets", "Wallet"),
        _lens(
            "vigil-indicator-breakdown",
            "Indicator breakdown",
            "vigil-ads",
            "lnsPie",
            {"g": _terms("indicator_ids", "Indicator", 15, "m"), "m": _count()},
            ["g", "m"],
            pie,
        ),
        _over_time("vigil-alert-volume", "Alert volume", "vigil-alerts", "created_at", "status", "Status"),
        _lens(
            "vigil-widespread-entities",
            "Entities seen in the most countries",
            "vigil-entities",
            "lnsDatatable",
            widespread,
            ["t", "k", "c", "a"],
            {
                "layerId": "layer1",
                "layerType": "data",
                "columns": [{"columnId": c} for c in ("t", "k", "c", "a")],
            },
        ),
    ]


def saved_searches() -> list[dict[str, Any]]:
    columns = ["title", "profile_id", "country", "risk", "indicator_ids", "url"]
    return [
        _saved_search(
            "vigil-escalations",
            "Vigil: escalations",
            {"term": {"escalate": True}},
            columns,
            [["risk", "desc"], ["last_seen", "desc"]],
        ),
        _saved_search(
            "vigil-high-risk",
            "Vigil: high risk (≥ 70)",
            {"range": {"risk": {"gte": 70}}},
            columns,
            [["risk", "desc"]],
        ),
        _saved_search(
            "vigil-new-today",
            "Vigil: new today",
            {"range": {"first_seen": {"gte": "now/d"}}},
            columns,
            [["first_seen", "desc"]],
        ),
    ]


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    """Two panels per row (24 of Kibana's 48 columns each), in the order given."""
    specs, references = [], []
    for i, obj in enumerate(panels):
        index = f"p{i + 1}"
        wide = obj["type"] == "search"
        specs.append(
            {
                "type": obj["type"],
                "panelIndex": index,
                "gridData": {
                    "x": 0 if wide else (i % 2) * 24,
                    "y": (i // 2) * 15,
                    "w": 48 if wide else 24,
                    "h": 15,
                    "i": index,
                },
                "embeddableConfig": {"enhancements": {}},
                "panelRefName": f"panel_{index}",
            }
        )
        references.append({"type": obj["type"], "id": obj["id"], "name": f"{index}:panel_{index}"})
    return {
        "type": "dashboard",
        "id": "vigil-overview",
        "attributes": {
            "title": "Vigil overview",
            "description": "Cross-border networks, new ads by country and site, risk, cross-border phones and wallets, indicators, alerts.",
            "panelsJSON": json.dumps(specs),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-30d",
            "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 0},
            "kibanaSavedObjectMeta": {
                "searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"}, "filter": []})
            },
        },
        "references": references,
        "coreMigrationVersion": CORE_VERSION,
        "typeMigrationVersion": "8.7.0",
    }


def build(indices: Indices | None = None) -> list[dict[str, Any]]:
    """Every object, data views first (Kibana resolves references within one import)."""
    indices = indices or Indices()
    views = [
        _data_view("ads", indices.ads, "first_seen", "Vigil ads"),
        _data_view("entities", indices.entities, "last_seen", "Vigil entities"),
        _data_view("alerts", indices.alerts, "created_at", "Vigil alerts"),
        _data_view("networks", indices.networks, "last_seen", "Vigil networks"),
    ]
    searches = saved_searches()
    lenses = visualisations()
    return [*views, *searches, *lenses, dashboard([*lenses, searches[0]])]


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n" for obj in objects)


def read_ndjson(path: Path) -> list[dict[str, Any]]:
    """Parse a saved-objects export; raises ValueError naming the line that is not JSON."""
    objects = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return objects
