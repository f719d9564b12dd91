"""Analyst-facing reads of the indexed ads: search, entity profiles, the HTML report, Kibana objects.

Everything here only reads Elasticsearch; field names follow ``vigil/core/templates/*.json``.
"""
