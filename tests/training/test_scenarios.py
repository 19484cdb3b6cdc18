"""Scenario files: the shipped ones are valid; a broken one gets errors naming file, entry, key."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebridge.cooperation_models.schema import vocabulary_of
from casebridge.training.scenarios import (
    ScenarioInvalid,
    check_references,
    load_scenarios,
    parse_scenario,
    scenario_files,
)

GOOD = (
    Path(__file__).resolve().parents[2] / "src/casebridge/training/scenarios/"
    "5-danger-to-others.toml"
).read_text()


def test_five_shipped_scenarios_are_valid_against_the_german_model(germany_spec):
    scenarios = load_scenarios()
    assert {
        "worried-mother",
        "school-report",
        "prison-release",
        "returning-family",
        "danger-to-others",
    } <= set(scenarios)
    vocabulary = vocabulary_of(germany_spec)
    protocols = {p.code for p in germany_spec.entries("protocols")}
    for spec in scenarios.values():
        assert check_references(spec, vocabulary) == []
        assert spec.protocol in protocols
        for texts in [spec.title, spec.summary, *(e.text for e in spec.events)]:
            assert set(texts) >= {"de", "en"}


def test_every_scenario_event_is_one_the_engine_knows():
    from casebridge.sop.events import EVENTS

    for path in scenario_files():
        for event in parse_scenario(path).events:
            assert event.event in EVENTS and event.event != "always"


def _broken(tmp_path, text: str) -> list[str]:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(ScenarioInvalid) as exc:
        parse_scenario(path)
    return [str(e) for e in exc.value.errors]


def test_unknown_key_is_named(tmp_path):
    errors = _broken(tmp_path, 'colour = "red"\n' + GOOD)
    assert "broken.toml: key colour: is not a known key" in errors


def test_missing_language_is_named(tmp_path):
    text = GOOD.replace(
        'title = { de = "Ausreisepläne", en = "Travel plans" }', 'title = { en = "Travel plans" }'
    )
    assert _broken(tmp_path, text) == ["broken.toml: [[events]] 1: key title: needs a text in de"]


def test_unknown_event_and_risk_without_scale_are_named(tmp_path):
    text = GOOD.replace('event = "travel_to_conflict_zone"', 'event = "moon_landing"').replace(
        'likelihood = "predominantly_likely"\n', "", 1
    )
    errors = _broken(tmp_path, text)
    assert any("[[events]] 1" in e and "moon_landing" in e for e in errors)
    assert any("[[events]] 2" in e and "likelihood and imminence" in e for e in errors)


def test_malformed_value_names_the_party_and_key(tmp_path):
    text = GOOD.replace('code = "police"', 'code = "Police Station"')
    errors = _broken(tmp_path, text)
    assert any("[[parties]] 2" in e and "code" in e and "malformed" in e for e in errors)


def test_not_toml_is_reported(tmp_path):
    assert any("not valid TOML" in e for e in _broken(tmp_path, "code = ["))


def test_scenario_must_declare_itself_fictitious(tmp_path):
    errors = _broken(tmp_path, GOOD.replace("fictitious = true", "fictitious = false"))
    assert any("fictitious" in e for e in errors)


def test_references_unknown_to_the_model_are_errors(germany_spec, tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(GOOD.replace('case_role = "police_liaison"', 'case_role = "sheriff"'))
    spec = parse_scenario(path)
    errors = [str(e) for e in check_references(spec, vocabulary_of(germany_spec))]
    assert errors == ['danger-to-others.toml: [[parties]] 2: case role "sheriff" is not known']


def test_the_check_command_names_each_error(tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("training", "check", stdout=out)
    assert "5 scenarios valid" in out.getvalue()
    (tmp_path / "bad.toml").write_text(
        GOOD.replace('case_role = "police_liaison"', 'case_role = "x"')
    )
    err = StringIO()
    with pytest.raises(CommandError, match="1 errors"):
        call_command("training", "check", str(tmp_path), stderr=err)
    assert 'bad.toml: [[parties]] 2: case role "x" is not known' in err.getvalue()
