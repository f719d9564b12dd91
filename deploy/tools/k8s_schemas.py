#!/usr/bin/env python3
"""Turn Kubernetes' OpenAPI spec and CRD files into the JSON schemas kubeconform reads offline.

kubeconform would fetch core schemas from a host we cannot reach, so we build them ourselves,
in the spirit of openapi2jsonschema (instrumenta; kubeconform's scripts/openapi2jsonschema.py):

* core kinds come from ``api/openapi-spec/swagger.json`` of the ``k8s.io/kubernetes`` module;
  each file holds the kind's definition plus every definition it reaches ("standalone"), so
  recursive types stay ``$ref``s inside one file;
* custom kinds come from each CRD version's ``openAPIV3Schema``; their ``metadata`` is replaced
  by the core ObjectMeta so that typos there are caught too;
* schemas are "strict": an object that lists ``properties`` gets ``additionalProperties: false``
  unless it says ``x-kubernetes-preserve-unknown-fields``; int-or-string and Quantity accept
  both forms, as the API server does; ``nullable`` becomes a ``null`` type.

File names follow kubeconform's ``{{ .ResourceKind }}{{ .KindSuffix }}.json`` template:
``deployment-apps-v1.json``, ``service-v1.json``, ``kafka-kafka-v1.json``. Two different sources
landing on one name is an error, not a silent overwrite.

Usage: k8s_schemas.py --swagger swagger.json --out DIR [CRD.yaml ...]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
REF = re.compile(r"^#/definitions/(.+)$")


def file_name(kind: str, api_version: str) -> str:
    """kubeconform's KindSuffix: ``-<first label of the group>-<version>``, or ``-<version>`` for core."""
    group, _, version = api_version.rpartition("/")
    suffix = f"-{group.split('.')[0]}-{version}" if group else f"-{version}"
    return f"{kind}{suffix}".lower() + ".json"


def strict(node: Any) -> Any:
    """Deny unknown fields, accept both int-or-string forms, honour ``nullable``."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        kept = {k: v for k, v in node.items() if k in ("description",)}
        return {**kept, "oneOf": [{"type": "string"}, {"type": "integer"}]}
    out = {key: strict(value) for key, value in node.items()}
    if "properties" in out and "additionalProperties" not in out:
        if not out.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def references(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        match = REF.match(node.get("$ref", "")) if isinstance(node.get("$ref"), str) else None
        if match:
            found.add(match.group(1))
        for value in node.values():
            references(value, found)
    elif isinstance(node, list):
        for value in node:
            references(value, found)


def closure(definitions: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """Every definition reachable from ``roots``."""
    seen: dict[str, Any] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen[name] = definitions[name]
        found: set[str] = set()
        references(definitions[name], found)
        todo.extend(found - seen.keys())
    return seen


def prepared_definitions(swagger: dict[str, Any]) -> dict[str, Any]:
    definitions = {name: strict(body) for name, body in swagger["definitions"].items()}
    # A Quantity is written as "500m" or as a bare number in YAML; both are valid.
    definitions[QUANTITY] = {
        "description": "Quantity: a number or a string with a suffix (500m, 1Gi)",
        "oneOf": [{"type": "string"}, {"type": "number"}],
    }
    return definitions


class Writer:
    def __init__(self, out: Path):
        self.out = out
        self.sources: dict[str, str] = {}

    def write(self, name: str, source: str, schema: dict[str, Any]) -> None:
        if name in self.sources and self.sources[name] != source:
            raise SystemExit(f"k8s_schemas: {name} from both {self.sources[name]} and {source}")
        self.sources[name] = source
        (self.out / name).write_text(json.dumps(schema, sort_keys=True), encoding="utf-8")


def core_schemas(definitions: dict[str, Any], writer: Writer) -> int:
    count = 0
    for name, body in definitions.items():
        kinds = body.get("x-kubernetes-group-version-kind") or []
        if len(kinds) != 1:  # List/Watch helpers carry many; they are never applied as files
            continue
        gvk = kinds[0]
        api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
        reached = closure(definitions, [name])
        schema = {**copy.deepcopy(body), "definitions": reached}
        writer.write(file_name(gvk["kind"], api_version), name, schema)
        count += 1
    return count


class CrdLoader(yaml.SafeLoader):
    """SafeLoader that reads a bare ``=`` (YAML 1.1's "value" tag, used in some enums) as a string."""


CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def crd_documents(path: Path) -> list[dict[str, Any]]:
    found = []
    for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=CrdLoader):  # noqa: S506
        if not isinstance(doc, dict):
            continue
        items = doc.get("items") if doc.get("kind") == "List" else [doc]
        found.extend(d for d in items or [] if d.get("kind") == "CustomResourceDefinition")
    return found


def crd_schemas(paths: list[Path], definitions: dict[str, Any], writer: Writer) -> int:
    meta = closure(definitions, [OBJECT_META])
    count = 0
    for path in paths:
        docs = crd_documents(path)
        if not docs:
            raise SystemExit(f"k8s_schemas: no CustomResourceDefinition in {path}")
        for crd in docs:
            spec = crd["spec"]
            for version in spec["versions"]:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema is None:
                    continue
                schema = strict(copy.deepcopy(schema))
                schema.setdefault("properties", {})["metadata"] = {"$ref": f"#/definitions/{OBJECT_META}"}
                schema["additionalProperties"] = False
                schema["definitions"] = meta
                api_version = f"{spec['group']}/{version['name']}"
                source = f"{crd['metadata']['name']}/{version['name']}"
                writer.write(file_name(spec["names"]["kind"], api_version), source, schema)
                count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swagger", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("crds", type=Path, nargs="*")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    definitions = prepared_definitions(json.loads(args.swagger.read_text(encoding="utf-8")))
    writer = Writer(args.out)
    core = core_schemas(definitions, writer)
    custom = crd_schemas(args.crds, definitions, writer)
    print(f"k8s_schemas: {core} core and {custom} custom resource schemas in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
