"""Turning Elasticsearch failures into one line an analyst can act on."""

from __future__ import annotations


def describe(exc: Exception, alias: str) -> str:
    from elastic_transport import ConnectionError as TransportConnectionError
    from elasticsearch import ApiError, NotFoundError

    if isinstance(exc, NotFoundError):
        return f"the index {alias!r} does not exist yet: run `vigil init` (and crawl something)"
    if isinstance(exc, TransportConnectionError):
        return f"cannot reach Elasticsearch ({exc.message if hasattr(exc, 'message') else exc}); is `vigil stack up` running?"
    if isinstance(exc, ApiError):
        reason = exc.message
        try:
            reason = exc.body["error"]["root_cause"][0]["reason"]
        except (KeyError, IndexError, TypeError):
            pass
        return f"Elasticsearch refused the request ({exc.meta.status}): {reason}"
    return f"{type(exc).__name__}: {exc}"
