"""Reading a Lens visualisation's state back into the Elasticsearch aggregation Kibana would run.

Kibana cannot run here, so this is how the saved objects are tested: each layer's bucket columns
nest in ``columnOrder`` (as Lens nests them), metric columns become sub-aggregations of the
innermost bucket, and ``count`` is the bucket's doc_count. Only the operations Vigil's
visualisations use are supported; any other raises, so a new one cannot go untested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RECORDS = "___records___"
AUTO_INTERVAL = "1d"  # Kibana picks "auto" from the time range; a day fits Vigil's dashboards


class UnsupportedLens(ValueError):
    pass


@dataclass
class LensRequest:
    data_view_id: str
    body: dict[str, Any]
    outer: str  # name of the outermost aggregation, whose buckets a chart draws


def _metric(column: dict[str, Any]) -> dict[str, Any] | None:
    op = column["operationType"]
    if op == "count":
        return None
    if op == "unique_count":
        return {"cardinality": {"field": column["sourceField"]}}
    if op in ("sum", "min", "max", "average"):
        return {{"average": "avg"}.get(op, op): {"field": column["sourceField"]}}
    raise UnsupportedLens(f"metric operation {op!r}")


def _bucket(column: dict[str, Any], columns: dict[str, Any]) -> dict[str, Any]:
    op, params = column["operationType"], column.get("params", {})
    field = column["sourceField"]
    if op == "date_histogram":
        interval = params.get("interval", "auto")
        return {
            "date_histogram": {
                "field": field,
                "calendar_interval": AUTO_INTERVAL if interval == "auto" else interval,
                "min_doc_count": 0 if params.get("includeEmptyRows") else 1,
            }
        }
    if op == "terms":
        terms: dict[str, Any] = {"field": field, "size": params.get("size", 5)}
        order_by = params.get("orderBy", {})
        direction = params.get("orderDirection", "desc")
        if order_by.get("type") == "alphabetical":
            terms["order"] = {"_key": direction}
        elif order_by.get("type") == "column":
            target = columns[order_by["columnId"]]
            if target["operationType"] == "count":
                terms["order"] = {"_count": direction}
            else:
                # Lens orders by its own copy of the metric ("orderAgg"), wherever the column sits.
                terms["order"] = {"orderAgg": direction}
                if params.get("missingBucket"):
                    terms["missing"] = "(missing value)"
                return {"terms": terms, "aggs": {"orderAgg": _metric(target)}}
        if params.get("missingBucket"):
            terms["missing"] = "(missing value)"
        return {"terms": terms}
    if op == "range":
        if params.get("type") == "range":
            ranges = [{k: r[k] for k in ("from", "to") if r.get(k) is not None} for r in params["ranges"]]
            return {"range": {"field": field, "ranges": ranges}}
        raise UnsupportedLens("range operation in histogram mode (its interval depends on the data)")
    if op == "filters":
        raise UnsupportedLens("filters operation (KQL would need translating)")
    raise UnsupportedLens(f"bucket operation {op!r}")


def to_request(obj: dict[str, Any]) -> LensRequest:
    """The search body for a Lens saved object's only data layer."""
    if obj.get("type") != "lens":
        raise UnsupportedLens(f"not a Lens object: {obj.get('type')}")
    layers = obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    if len(layers) != 1:
        raise UnsupportedLens("more than one data layer")
    layer_id, layer = next(iter(layers.items()))
    ref_name = f"indexpattern-datasource-layer-{layer_id}"
    data_view = next(r["id"] for r in obj["references"] if r["name"] == ref_name)
    columns = layer["columns"]
    buckets = [c for c in layer["columnOrder"] if columns[c]["isBucketed"]]
    metrics = {c: _metric(columns[c]) for c in layer["columnOrder"] if not columns[c]["isBucketed"]}
    if not buckets:
        raise UnsupportedLens("no bucket column (a single metric needs no aggregation test)")
    inner: dict[str, Any] = {name: agg for name, agg in metrics.items() if agg is not None}
    for column_id in reversed(buckets):
        agg = _bucket(columns[column_id], columns)
        if inner:
            agg["aggs"] = {**agg.get("aggs", {}), **inner}
        inner = {column_id: agg}
    return LensRequest(data_view_id=data_view, body={"size": 0, "aggs": inner}, outer=buckets[0])


def fields(obj: dict[str, Any]) -> set[str]:
    """Every index field a Lens object reads."""
    used = set()
    for layer in obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
        for column in layer["columns"].values():
            if column.get("sourceField") and column["sourceField"] != RECORDS:
                used.add(column["sourceField"])
    return used
