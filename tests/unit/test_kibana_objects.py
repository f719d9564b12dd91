"""Kibana saved objects: well-formed, self-referencing, on fields the templates map, and runnable.

Kibana cannot be installed here; the integration part runs every visualisation's aggregation
(read back from its Lens state) and every saved search against the real Elasticsearch.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from vigil.app.analyst import kibana_objects, lens
from vigil.core.config import Indices
from vigil.core.elastic import templates

REPO = Path(__file__).resolve().parents[2]
NDJSON = REPO / "deploy" / "kibana" / "vigil.ndjson"
DEFAULT_ALIASES = {alias: key for key, alias in Indices().model_dump().items()}


def _mapped_fields(properties: dict, prefix: str = "") -> dict[str, str]:
    found = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "type" in spec:
            found[path] = spec["type"]
        for sub, sub_spec in spec.get("fields", {}).items():
            found[f"{path}.{sub}"] = sub_spec["type"]
        if "properties" in spec:
            found.update(_mapped_fields(spec["properties"], f"{path}."))
    return found


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return kibana_objects.read_ndjson(NDJSON)


def _fields_of(view_id: str, objects: list[dict]) -> dict[str, str]:
    view = next(o for o in objects if o["type"] == "index-pattern" and o["id"] == view_id)
    key = DEFAULT_ALIASES[view["attributes"]["title"]]
    return _mapped_fields(templates()[key]["mappings"]["properties"])


def test_file_is_the_builder_output():
    assert NDJSON.read_text(encoding="utf-8") == kibana_objects.to_ndjson(kibana_objects.build()), (
        "deploy/kibana/vigil.ndjson is stale: run `vigil kibana export`"
    )


def test_every_line_parses_and_ids_are_unique(objects):
    lines = [line for line in NDJSON.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == len(objects) >= 10
    for obj in objects:
        assert {"type", "id", "attributes", "references"} <= obj.keys()
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    assert {o["type"] for o in objects} == {"index-pattern", "search", "lens", "dashboard"}
    assert {o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"} == {
        "vigil-ads",
        "vigil-entities",
        "vigil-alerts",
        "vigil-networks",
    }


def test_every_reference_resolves_inside_the_file(objects):
    present = {(o["type"], o["id"]) for o in objects}
    for obj in objects:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in present, f"{obj['id']} -> {ref}"
        if obj["type"] == "search":
            source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            names = {r["name"] for r in obj["references"]}
            assert source["indexRefName"] in names
            assert all(f["meta"]["indexRefName"] in names for f in source["filter"])
        if obj["type"] == "lens":
            for layer_id in obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]:
                assert f"indexpattern-datasource-layer-{layer_id}" in {r["name"] for r in obj["references"]}
        if obj["type"] == "dashboard":
            panels = json.loads(obj["attributes"]["panelsJSON"])
            by_name = {r["name"]: r for r in obj["references"]}
            assert len(panels) == len(by_name) >= 8
            for panel in panels:
                ref = by_name[f"{panel['panelIndex']}:{panel['panelRefName']}"]
                assert ref["type"] == panel["type"]


def test_fields_exist_in_the_index_templates(objects):
    for obj in objects:
        if obj["type"] == "index-pattern":
            fields = _fields_of(obj["id"], objects)
            assert fields[obj["attributes"]["timeFieldName"]] == "date", obj["id"]
        elif obj["type"] == "lens":
            view = lens.to_request(obj).data_view_id
            fields = _fields_of(view, objects)
            missing = lens.fields(obj) - fields.keys()
            assert not missing, f"{obj['id']} uses unmapped fields {missing}"
        elif obj["type"] == "search":
            fields = _fields_of("vigil-ads", objects)
            source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            used = set(obj["attributes"]["columns"]) | {s[0] for s in obj["attributes"]["sort"]}
            for f in source["filter"]:
                used |= set(next(iter(f["query"].values())).keys())
            assert not used - fields.keys(), f"{obj['id']} uses unmapped fields {used - fields.keys()}"


def test_every_visualisation_converts_to_an_aggregation(objects):
    visualisations = [o for o in objects if o["type"] == "lens"]
    assert {o["attributes"]["visualizationType"] for o in visualisations} == {
        "lnsXY",
        "lnsDatatable",
        "lnsPie",
    }
    for obj in visualisations:
        request = lens.to_request(obj)
        assert request.outer in request.body["aggs"]


class _FakeKibana(BaseHTTPRequestHandler):
    """Records one import request and answers as Kibana 8 does."""

    seen: list[dict] = []
    status = 200

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(
            {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        reply = (
            {"success": True, "successCount": body.count(b'"type"')}
            if self.status == 200
            else {"message": "bad"}
        )
        data = json.dumps(reply).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_kibana():
    _FakeKibana.seen, _FakeKibana.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _FakeKibana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _FakeKibana
    server.shutdown()


def test_import_posts_the_objects_to_the_saved_objects_api(fake_kibana, monkeypatch):
    from typer.testing import CliRunner

    from vigil.app.cli import app

    url, kibana = fake_kibana
    monkeypatch.setenv("VIGIL_KIBANA_API_KEY", "c2VjcmV0")
    monkeypatch.delenv("VIGIL_CONFIG", raising=False)
    result = CliRunner().invoke(
        app, ["kibana", "import", "--url", url + "/", "--space", "analysts", "--file", str(NDJSON)]
    )
    assert result.exit_code == 0, result.output
    request = kibana.seen[0]
    assert request["path"] == "/s/analysts/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"]
    assert request["headers"]["authorization"] == "ApiKey c2VjcmV0"
    assert request["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="vigil.ndjson"' in request["body"]
    assert NDJSON.read_bytes() in request["body"]

    kibana.status = 400
    failed = CliRunner().invoke(app, ["kibana", "import", "--url", url])
    assert failed.exit_code == 1
    assert kibana.seen[1]["path"] == "/api/saved_objects/_import?overwrite=true"


@pytest.mark.integration
def test_aggregations_return_buckets_on_real_elasticsearch(vigil_env, objects):
    from vigil.app.demo.ads import sample_documents
    from vigil.app.demo.seed import index
    from vigil.core.elastic import client

    docs = sample_documents(200)
    docs[-1].first_seen = datetime.now(UTC)  # "new today" has something even just after midnight
    counts = index(vigil_env.settings.es, docs)
    assert counts["alerts"] > 0 and counts["entities"] > 0 and counts["networks"] > 0

    es = client(vigil_env.settings.es)
    aliases = vigil_env.settings.es.indices.model_dump()
    alias_of_view = {
        o["id"]: aliases[DEFAULT_ALIASES[o["attributes"]["title"]]]
        for o in objects
        if o["type"] == "index-pattern"
    }
    for obj in (o for o in objects if o["type"] == "lens"):
        request = lens.to_request(obj)
        response = es.search(index=alias_of_view[request.data_view_id], **request.body)
        buckets = response["aggregations"][request.outer]["buckets"]
        assert any(b["doc_count"] > 0 for b in buckets), obj["id"]
    for obj in (o for o in objects if o["type"] == "search"):
        source = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        query = {"bool": {"filter": [f["query"] for f in source["filter"]]}}
        sort = [{field: {"order": order}} for field, order in obj["attributes"]["sort"]]
        hits = es.search(index=aliases["ads"], query=query, sort=sort, size=5)["hits"]
        assert hits["total"]["value"] > 0, obj["id"]
