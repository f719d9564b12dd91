"""Loading saved objects into Kibana through its saved-objects import API.

``POST {url}/s/{space}/api/saved_objects/_import?overwrite=true`` with the NDJSON as a multipart
file and the ``kbn-xsrf`` header Kibana demands on every write. Credentials come from the
environment only: ``VIGIL_KIBANA_API_KEY``, else ``VIGIL_KIBANA_USERNAME``/``VIGIL_KIBANA_PASSWORD``.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen


class KibanaError(Exception):
    """Kibana refused the import or could not be reached; the message says which and why."""


@dataclass
class ImportResult:
    success: bool
    count: int
    errors: list[dict[str, Any]] = field(default_factory=list)


def import_url(url: str, space: str | None) -> str:
    base = url.rstrip("/")
    if space and space != "default":
        base += f"/s/{quote(space, safe='')}"
    return f"{base}/api/saved_objects/_import?overwrite=true"


def auth_header(env: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if env is None else env
    if env.get("VIGIL_KIBANA_API_KEY"):
        return {"Authorization": f"ApiKey {env['VIGIL_KIBANA_API_KEY']}"}
    if env.get("VIGIL_KIBANA_USERNAME"):
        pair = f"{env['VIGIL_KIBANA_USERNAME']}:{env.get('VIGIL_KIBANA_PASSWORD', '')}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
    return {}


def _multipart(ndjson: str, filename: str) -> tuple[bytes, str]:
    boundary = f"vigil-{uuid.uuid4().hex}"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/ndjson\r\n\r\n"
        ).encode()
        + ndjson.encode("utf-8")
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def import_objects(url: str, ndjson: str, space: str | None = None, timeout: float = 60.0) -> ImportResult:
    body, content_type = _multipart(ndjson, "vigil.ndjson")
    request = Request(
        import_url(url, space),
        data=body,
        method="POST",
        headers={"kbn-xsrf": "vigil", "Content-Type": content_type, **auth_header()},
    )
    try:
        with urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read() or b"{}")
    except HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:500]
        raise KibanaError(f"Kibana answered {exc.code} to the import: {detail}") from None
    except URLError as exc:
        raise KibanaError(f"cannot reach Kibana at {url}: {exc.reason}") from None
    except json.JSONDecodeError:
        raise KibanaError(f"Kibana at {url} did not answer with JSON (is that Kibana's URL?)") from None
    return ImportResult(
        bool(reply.get("success")), int(reply.get("successCount", 0)), list(reply.get("errors", []))
    )
