"""The scope of an indicator match: is it negated, prohibited, or inside a site's legal text?

"No recruitment fee", "not new in town", "no minors", "vietato ai minorenni" name an indicator
only to deny it; site disclaimers ("only for persons 18 or older", "any suspected underage use
will be reported") mention minors without offering one. The cue words live in indicators.yaml
(``scope:``) per language; this module only applies them:

* a match is *negated* when a negation cue stands before it in the same clause with at most
  ``max_words`` words between, or a prohibition cue follows it within three words ("minors are
  not allowed"). For escalating indicators the words between may only be *fillers* (articles,
  prepositions, verbs of serving: "I do not see minors", "No atiendo a menores"): "no limits
  underage girls" offers a minor and must still escalate;
* a span is *boilerplate* when its sentence holds a legal or disclaimer cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLAUSE_END = re.compile(r"[.!?;:,\n()\[\]|•]|\s(?:but|aber|mais|pero|ma|maar|ale|dar|mas)\s", re.IGNORECASE)
_AFTER_END = re.compile(r"[.!?;\n()\[\]|•]|\s(?:but|aber|mais|pero|ma|maar|ale|dar|mas)\s", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|\s[|•]\s")
_WORD = re.compile(r"[^\W_][\w'’-]*")
MAX_LOOKBACK_CHARS = 80


@dataclass(frozen=True)
class Scope:
    negation_before: re.Pattern[str]
    negation_after: re.Pattern[str]
    boilerplate: re.Pattern[str]
    name_cues: re.Pattern[str]
    name_terms: frozenset[str]
    fillers: re.Pattern[str] | None = None


def compile_scope(data: dict) -> Scope:
    """Build the scope rules from the taxonomy's ``scope`` mapping (already validated)."""

    def joined(key: str) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in data[key]), re.IGNORECASE)

    return Scope(
        negation_before=re.compile(r"(?<![^\W\d_])(?:" + joined("negation_before").pattern + r")(?![^\W\d_])", re.IGNORECASE),
        negation_after=re.compile(r"(?:" + joined("negation_after").pattern + r")(?![^\W\d_])", re.IGNORECASE),
        boilerplate=joined("boilerplate"),
        name_cues=re.compile(r"(?<![^\W\d_])(?:" + joined("name_cues").pattern + r")\s*[:\-]?\s*$", re.IGNORECASE),
        name_terms=frozenset(t.lower() for t in data.get("name_terms", [])),
        fillers=joined("negation_fillers") if data.get("negation_fillers") else None,
    )


def negated(scope: Scope, text: str, start: int, end: int, max_words: int, fillers_only: bool = False) -> bool:
    """Whether the match text[start:end] is denied or prohibited in its own clause; with
    ``fillers_only`` the words between a negation cue and the match must all be fillers."""
    before = text[max(0, start - MAX_LOOKBACK_CHARS) : start]
    clause_ends = list(_CLAUSE_END.finditer(before))
    if clause_ends:
        before = before[clause_ends[-1].end() :]
    for cue in scope.negation_before.finditer(before):
        between = _WORD.findall(before[cue.end() :])
        if len(between) > max_words:
            continue
        if not fillers_only or all(scope.fillers and scope.fillers.fullmatch(word) for word in between):
            return True
    after = text[end : end + MAX_LOOKBACK_CHARS]
    clause_end = _AFTER_END.search(after)
    after = after[: clause_end.start()] if clause_end else after
    cue = scope.negation_after.search(after)
    return bool(cue and len(_WORD.findall(after[: cue.start()])) <= 3)


def boilerplate_spans(scope: Scope, text: str) -> list[tuple[int, int]]:
    """(start, end) of the sentences of ``text`` that are disclaimers, footers or legal text."""
    if not text or not scope.boilerplate.search(text):
        return []
    spans = []
    position = 0
    for boundary in [*_SENTENCE_END.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        if scope.boilerplate.search(text, position, end):
            spans.append((position, end))
        position = boundary.end() if boundary else len(text)
    return spans


def is_name(scope: Scope, text: str, start: int, end: int) -> bool:
    """Whether a term that is also a given name ("Lolita") is used as the provider's name:
    capitalised and introduced as a name ("I'm Lolita", "call Lolita", "Lolita here")."""
    word = text[start:end]
    if word.lower() not in scope.name_terms or not word[:1].isupper():
        return False
    if scope.name_cues.search(text[max(0, start - 30) : start]):
        return True
    return bool(re.match(r"\s*(?:here|is\s+(?:back|here|available|waiting)|aquí|hier|ici|qui|tutaj|aici|aqui)\b", text[end : end + 20], re.IGNORECASE))
