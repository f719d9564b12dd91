"""alerts.yaml: validation, evaluation, and the helpers alerts depend on (no services needed)."""

from __future__ import annotations

import pytest
import yaml

from scheduler.delivery import mask, with_sender
from scheduler.rules import RulesError, evaluate, load_rules, parse_rules
from scheduler.triggers import crontab_weekdays
from vigil.core.records import AdEvent

DOCUMENTED = """
rules:
  - id: new-on-board
    when: {new_ad: true, profiles: [board-nl]}      # profiles omitted = all
  - id: watchlist
    when: {entities: {phone: ["+31 6 1234 5678"], wallet: ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"], email: [], handle: []}}
  - id: high-risk
    when: {min_risk: 70}
subscribers:
  - id: ops
    urls: ["mailto://user:pass@127.0.0.1:2525/?to=ops@example.org", "json://127.0.0.1:8792/hook"]
    rules: [new-on-board, watchlist]
    digest: 0
"""


class Context:
    def __init__(self, baseline: bool = False, spread: dict | None = None):
        self.baseline = baseline
        self.spreads = spread or {}

    def is_baseline(self, event: AdEvent) -> bool:
        return self.baseline or event.baseline

    def spread(self, entity_type: str, value: str):
        return self.spreads.get((entity_type, value), ([], []))


def event(**fields) -> AdEvent:
    values = {
        "event_type": "ad.new",
        "ad_key": "board-nl:1",
        "profile_id": "board-nl",
        "url": "http://b.test/ad/1",
    }
    return AdEvent(**{**values, **fields})


def fired(config, ev, context=None) -> dict[str, list[str]]:
    return {f"{m.subscriber.id}/{m.rule.id}": m.evidence for m in evaluate(config, ev, context or Context())}


def test_the_worker_needs_every_url_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("VIGIL_TEST_HOOK_HOST", raising=False)
    path = tmp_path / "alerts.yaml"
    path.write_text(DOCUMENTED.replace("127.0.0.1:8792", "${VIGIL_TEST_HOOK_HOST}"))
    assert load_rules(path).missing_env() == ["ops: VIGIL_TEST_HOOK_HOST"]
    with pytest.raises(RulesError, match="environment variables not set: ops: VIGIL_TEST_HOOK_HOST"):
        load_rules(path, require_env=True)


def test_the_documented_form_loads_as_written(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text(DOCUMENTED)
    config = load_rules(path)
    assert [r.id for r in config.rules] == ["new-on-board", "watchlist", "high-risk"]
    assert config.subscribers[0].digest == 0


def test_new_ad_rule_respects_profiles_event_type_and_baseline():
    config = parse_rules(yaml.safe_load(DOCUMENTED))
    assert fired(config, event()) == {"ops/new-on-board": ["new ad on board-nl"]}
    assert fired(config, event(profile_id="other")) == {}
    assert fired(config, event(event_type="ad.changed")) == {}
    assert fired(config, event(baseline=True)) == {}
    assert fired(config, event(), Context(baseline=True)) == {}


def test_watchlist_matches_the_normalised_phone_even_on_a_baseline():
    config = parse_rules(yaml.safe_load(DOCUMENTED))
    hits = fired(config, event(entities={"phone": ["+31612345678"]}, baseline=True))
    assert list(hits) == ["ops/watchlist"]
    assert "+31612345678" in hits["ops/watchlist"][0]


def test_conditions_combine_with_and_and_collect_evidence():
    config = parse_rules(
        {
            "rules": [
                {"id": "r", "when": {"keywords": ["new girl"], "min_risk": 50, "indicators": ["third-party"]}}
            ],
            "subscribers": [{"id": "s", "urls": ["json://127.0.0.1:1/"], "rules": ["r"]}],
        }
    )
    matching = event(title="NEW GIRL in town", risk=60, indicators=["third-party", "young"])
    evidence = fired(config, matching)["s/r"]
    assert evidence[0] == "risk 60 >= 50" and "indicator third-party" in evidence
    assert any("new girl" in line for line in evidence)
    assert fired(config, matching.model_copy(update={"risk": 40})) == {}
    assert fired(config, matching.model_copy(update={"title": "newgirlfriend"})) == {}


def test_spread_rule_asks_the_context():
    config = parse_rules(
        {
            "rules": [{"id": "spread", "when": {"min_countries": 3}}],
            "subscribers": [{"id": "s", "urls": ["json://127.0.0.1:1/"], "rules": ["spread"]}],
        }
    )
    ev = event(entities={"email": ["a@b.test"]})
    assert fired(config, ev, Context(spread={("email", "a@b.test"): (["x"], ["NL", "BE"])})) == {}
    hits = fired(config, ev, Context(spread={("email", "a@b.test"): (["x"], ["NL", "BE", "DE"])}))
    assert hits["s/spread"] == ["email a@b.test seen on 3 countries (BE, DE, NL)"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": [{"id": "r", "when": {}}]}, "give at least one condition"),
        ({"rules": [{"id": "r", "when": {"min_risk": 101}}]}, "rules.0.when.min_risk"),
        ({"rules": [{"id": "r", "when": {"regex": ["("]}}]}, "does not compile"),
        ({"rules": [{"id": "r", "when": {"entities": {"phone": ["not a number"]}}}]}, "is not a valid phone"),
        ({"rules": [{"id": "r", "when": {"new_ad": True, "colour": "red"}}]}, "unknown key"),
        ({"rules": [{"id": "r", "when": {"new_ad": True}}] * 2}, "used twice"),
        ({"subscribers": [{"id": "s", "urls": ["json://x/"], "rules": ["nope"]}]}, "names rule 'nope'"),
        ({"subscribers": [{"id": "s", "urls": ["json://127.0.0.1:1/"], "rules": []}]}, "subscribers.0.rules"),
    ],
)
def test_invalid_rules_name_the_key_and_the_reason(data, message):
    with pytest.raises(RulesError, match=message.replace("(", r"\(")):
        parse_rules(data)


def test_urls_expand_environment_variables(monkeypatch):
    data = {
        "rules": [{"id": "r", "when": {"escalate": True}}],
        "subscribers": [
            {"id": "s", "urls": ["mailto://ops:${VIGIL_TEST_SMTP_PASSWORD}@mail.test"], "rules": ["r"]}
        ],
    }
    monkeypatch.delenv("VIGIL_TEST_SMTP_PASSWORD", raising=False)
    assert parse_rules(data).missing_env() == ["s: VIGIL_TEST_SMTP_PASSWORD"]
    monkeypatch.setenv("VIGIL_TEST_SMTP_PASSWORD", "s3cret")
    assert parse_rules(data).missing_env() == []
    subscriber = parse_rules(data).subscribers[0]
    assert subscriber.urls == ["mailto://ops:${VIGIL_TEST_SMTP_PASSWORD}@mail.test"]
    assert subscriber.targets() == ["mailto://ops:s3cret@mail.test"]
    assert mask(subscriber.targets()[0]) == "mailto://ops:****@mail.test/"


def test_digest_accepts_durations():
    data = {
        "rules": [{"id": "r", "when": {"escalate": True}}],
        "subscribers": [{"id": "s", "urls": ["json://127.0.0.1:1/"], "rules": ["r"], "digest": "15m"}],
    }
    assert parse_rules(data).subscribers[0].digest == 900


def test_mail_urls_get_a_sender():
    assert with_sender("mailto://u:p@127.0.0.1:2525/?to=a@b.test", "v@x.test").endswith(
        "?to=a@b.test&from=v@x.test"
    )
    assert with_sender("mailto://u:p@host/", "v@x.test") == "mailto://u:p@host/?from=v@x.test"
    assert with_sender("mailto://h/?from=me@x.test", "v@x.test") == "mailto://h/?from=me@x.test"
    assert with_sender("json://h/", "v@x.test") == "json://h/"


def test_crontab_weekdays_become_apscheduler_numbers():
    assert crontab_weekdays("*") == "*"
    assert crontab_weekdays("mon-fri") == "mon-fri"
    assert crontab_weekdays("0") == "6"
    assert crontab_weekdays("7") == "6"
    assert crontab_weekdays("1-5") == "0,1,2,3,4"
    assert crontab_weekdays("0,6") == "5,6"


def test_the_example_file_is_valid(repo_root):
    config = load_rules(repo_root / "alerts.example.yaml")
    assert {"new-on-board", "watchlist", "high-risk"} <= {rule.id for rule in config.rules}
