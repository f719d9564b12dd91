"""The 0-100 risk score of an ad from its indicator hits.

Noisy-OR: risk = 100 * (1 - prod(1 - w_i)) over the distinct indicators that fired. Each weight
reads as "the chance this indicator alone means trouble"; independent signals accumulate
without ever passing 100, and one strong signal is not drowned by many weak ones.
Escalation is separate: any hit marked escalate (minors) sends the ad to a human.
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.core.records import IndicatorHit


def score(hits: Sequence[IndicatorHit]) -> tuple[int, str, bool]:
    """(risk 0-100, human-readable explanation, escalate)."""
    if not hits:
        return 0, "no indicators", False
    remaining = 1.0
    for hit in hits:
        remaining *= 1.0 - min(max(hit.weight, 0.0), 1.0)
    risk = int(round(100 * (1 - remaining)))
    escalate = any(hit.escalate for hit in hits)
    terms = ", ".join(f"{hit.id} ({hit.weight:g})" for hit in sorted(hits, key=lambda h: -h.weight))
    explanation = f"risk {risk} = 100*(1-prod(1-w)) over {len(hits)} indicator(s): {terms}"
    if escalate:
        escalating = ", ".join(hit.id for hit in hits if hit.escalate)
        explanation += f"; ESCALATE: {escalating}"
    return risk, explanation, escalate
