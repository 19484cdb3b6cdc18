"""The SOP engine: every rule kind, conditions, deadlines, overrides, contradictions, gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from casebridge.cooperation_models.schema import ProtocolEntry, parse_model, vocabulary_of
from casebridge.sop import engine as sop

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def germany():
    spec = parse_model("germany")
    return spec.entries("protocols")[0], vocabulary_of(spec)


PARTIES = [
    sop.Party(
        1, "Hafenlicht", "ngo_counselling_partner", "counselling_ngo", "lead_counselling", True
    ),
    sop.Party(2, "LKA Hamburg", "police_liaison_unit", "security", "police_liaison", False),
    sop.Party(3, "Jugendamt", "youth_welfare_office", "child_welfare", "youth_welfare", False),
]


def run(germany, event, **kwargs):
    protocol, _vocab = germany
    return sop.evaluate(protocol.rules, PARTIES, event, now=NOW, **kwargs)


def test_the_german_protocol_has_no_errors(germany):
    protocol, vocab = germany
    assert [f for f in sop.check(protocol, vocab) if f.level == "error"] == []


def test_very_likely_triggers_the_138_duty_with_approval(germany):
    outcomes = run(
        germany, "risk_judgement_recorded", likelihood="very_likely", imminence="medium_term"
    )
    duty = [o for o in outcomes if o.rule == "duty-138"]
    assert len(duty) == 1
    assert duty[0].obligation == "must_inform"
    assert duty[0].recipient == "LKA Hamburg"
    assert duty[0].legal_basis == "duty_to_report"
    assert duty[0].second_approval
    assert duty[0].due == NOW + timedelta(hours=4)
    barrier = next(o for o in outcomes if o.rule == "counselling-barrier")
    assert barrier.obligation == "must_not_share"
    assert barrier.overridden_by == ["duty-138"]


def test_likely_only_allows_sharing_with_consent(germany):
    outcomes = run(germany, "risk_judgement_recorded", likelihood="likely", imminence="medium_term")
    assert {(o.rule, o.obligation) for o in outcomes} == {
        ("consent-first", "may_inform"),
        ("counselling-barrier", "must_not_share"),
        ("health-barrier", "must_not_share"),
    }
    assert next(o for o in outcomes if o.rule == "consent-first").consent_required


def test_present_danger_needs_both_thresholds(germany):
    imminent = run(
        germany, "risk_judgement_recorded", likelihood="predominantly_likely", imminence="imminent"
    )
    assert "present-danger-34" in {o.rule for o in imminent}
    later = run(
        germany,
        "risk_judgement_recorded",
        likelihood="predominantly_likely",
        imminence="medium_term",
    )
    assert "present-danger-34" not in {o.rule for o in later}


def test_unlikely_requires_nothing_but_the_standing_barrier(germany):
    outcomes = run(
        germany, "risk_judgement_recorded", likelihood="unlikely", imminence="not_foreseeable"
    )
    assert [o.rule for o in outcomes] == ["counselling-barrier", "health-barrier"]


def test_child_welfare_goes_to_the_youth_welfare_office_within_24_hours(germany):
    outcome = next(o for o in run(germany, "child_welfare_concern") if o.rule == "child-welfare")
    assert outcome.recipient == "Jugendamt"
    assert outcome.due == NOW + timedelta(hours=24)
    assert outcome.legal_basis == "child_protection_kkg"


def test_release_deadline_counts_back_from_the_release(germany):
    outcomes = run(germany, "release_scheduled", event_date=date(2027, 3, 1))
    probation = next(o for o in outcomes if o.rule == "release-probation")
    assert probation.due.date() == date(2027, 2, 15)
    assert probation.recipient_participant_id is None  # nobody from probation takes part yet
    assert "not yet taking part" in probation.recipient


def test_all_recipients_exclude_the_lead(germany):
    outcomes = [o for o in run(germany, "case_closed") if o.rule == "case-closed"]
    assert sorted(o.recipient for o in outcomes) == ["Jugendamt", "LKA Hamburg"]


def _protocol(germany, **changes) -> ProtocolEntry:
    protocol, _vocab = germany
    data = protocol.model_dump()
    rules = [dict(r) for r in data["rules"]]
    for code, fields in changes.items():
        rule = next(r for r in rules if r["code"] == code)
        rule.update(fields)
    data["rules"] = rules
    return ProtocolEntry.model_validate(data)


def test_a_contradiction_is_an_error(germany):
    protocol = _protocol(germany, **{"duty-138": {"overrides": [], "categories": ["counselling"]}})
    errors = [f for f in sop.check(protocol, germany[1]) if f.level == "error"]
    assert any("forbids sharing" in str(f) and f.rule == "duty-138" for f in errors)


def test_only_a_duty_may_override_a_barrier(germany):
    protocol = _protocol(germany, **{"duty-138": {"legal_basis": "consent_gdpr"}})
    errors = [str(f) for f in sop.check(protocol, germany[1]) if f.level == "error"]
    assert any(
        "only a duty, an emergency or child protection overrides a barrier" in e for e in errors
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"legal_basis": "hearsay"}, 'legal basis "hearsay" is not known'),
        ({"categories": ["gossip"]}, 'information category "gossip" is not known'),
        ({"event": "full_moon"}, 'event "full_moon" is not known'),
        ({"recipient": {"role": "astrologer"}}, 'case role "astrologer" is not known'),
        (
            {"recipient": {"role": "police_liaison", "sector": "security"}},
            "name exactly one recipient",
        ),
        (
            {"event": "case_opened"},
            "a likelihood or imminence condition needs a risk judgement event",
        ),
    ],
)
def test_unknown_references_are_errors(germany, change, message):
    protocol = _protocol(germany, **{"duty-138": change})
    errors = [str(f) for f in sop.check(protocol, germany[1]) if f.level == "error"]
    assert any(message in e for e in errors), errors


def test_gaps_are_warnings(germany):
    protocol = _protocol(
        germany, **{"child-welfare": {"recipient": {"organisation_type": "youth_welfare_office"}}}
    )
    warnings = [str(f) for f in sop.check(protocol, germany[1]) if f.level == "warning"]
    assert any("event child_welfare_concern has no rule for" in w for w in warnings)


def test_sop_check_command(capsys):
    from django.core.management import call_command

    call_command("sop", "check", "germany")
    out = capsys.readouterr().out
    assert "de-default 2026.1 (13 rules)" in out
    assert "de-hotline 2026.1 (4 rules)" in out
    assert "no errors" in out


def test_a_hotline_rule_names_an_organisation_type_not_a_case_role(germany):
    protocol = _protocol(
        germany,
        **{"duty-138": {"event": "danger_to_others", "condition": {}}},
    )
    errors = [str(f) for f in sop.check(protocol, germany[1]) if f.level == "error"]
    assert any("a hotline event has no case and no participants" in e for e in errors), errors
    fine = _protocol(
        germany,
        **{
            "duty-138": {
                "event": "danger_to_others",
                "condition": {},
                "recipient": {"organisation_type": "police_liaison_unit"},
            }
        },
    )
    assert not [f for f in sop.check(fine, germany[1]) if f.level == "error"]


# --- who informs: a rule's sender ----------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        ({"all": True}, "a sender is one party of the case, not all"),
        ({"role": "prison", "sector": "justice"}, "name exactly one sender"),
        ({}, "name exactly one sender"),
        ({"role": "warden"}, 'case role "warden" of the sender is not known'),
        ({"organisation_type": "castle"}, 'organisation type "castle" of the sender is not known'),
        ({"sector": "moon"}, 'sector "moon" of the sender is not known'),
    ],
)
def test_a_sender_names_one_known_party(germany, sender, message):
    protocol = _protocol(germany, **{"release-lead": {"sender": sender}})
    errors = [f for f in sop.check(protocol, germany[1]) if f.level == "error"]
    assert any(message in f.message and f.rule == "release-lead" for f in errors), errors


def test_a_hotline_rule_has_no_sender():
    spec = parse_model("germany")
    hotline = spec.entries("protocols")[1]
    data = hotline.model_dump()
    for rule in data["rules"]:
        if rule["code"] == "hotline-danger-to-others":
            rule["sender"] = {"organisation_type": "central_advice_centre"}
    errors = [
        f
        for f in sop.check(ProtocolEntry.model_validate(data), vocabulary_of(spec))
        if f.level == "error"
    ]
    assert [f.rule for f in errors] == ["hotline-danger-to-others"]
    assert "the hotline informs" in errors[0].message


def test_the_prison_informs_of_the_release_the_lead_of_everything_else(germany):
    protocol, _vocab = germany
    prison = sop.Party(4, "JVA Fuhlsbüttel", "prison", "justice", "prison", False)
    outcomes = sop.evaluate(
        protocol.rules,
        [*PARTIES, prison],
        "release_scheduled",
        now=NOW,
        event_date=date(2027, 3, 1),
    )
    lead = next(o for o in outcomes if o.rule == "release-lead")
    assert (lead.sender, lead.sender_participant_id) == ("JVA Fuhlsbüttel", 4)
    # without the prison in the case: said in words, nobody to hold responsible
    alone = run(germany, "release_scheduled", event_date=date(2027, 3, 1))
    lead = next(o for o in alone if o.rule == "release-lead")
    assert lead.sender_participant_id is None
    assert "prison" in lead.sender and "not yet taking part" in lead.sender
    # a rule without a sender: the lead informs
    closed = run(germany, "case_closed")
    assert {(o.sender, o.sender_participant_id) for o in closed} == {("Hafenlicht", 1)}


def test_every_other_participant_of_a_rule_with_a_sender_includes_the_lead(germany):
    protocol = _protocol(germany, **{"case-closed": {"sender": {"role": "police_liaison"}}})
    outcomes = [o for o in run((protocol, germany[1]), "case_closed") if o.rule == "case-closed"]
    assert sorted(o.recipient for o in outcomes) == ["Hafenlicht", "Jugendamt"]


def test_a_rule_without_a_sender_dumps_as_before(germany):
    protocol, _vocab = germany
    rules = {r.code: r for r in protocol.rules}
    assert "sender" not in rules["duty-138"].model_dump(mode="json")
    assert "sender" not in rules["duty-138"].model_dump()
    dumped = rules["release-lead"].model_dump(mode="json", exclude_none=True)
    assert dumped["sender"] == {"role": "prison", "all": False}
    for rule in protocol.rules:
        again = type(rule).model_validate(rule.model_dump(mode="json", exclude_none=True))
        assert again == rule
    assert "sender" not in protocol.model_dump(mode="json")["rules"][0]
