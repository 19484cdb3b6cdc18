"""The comparison: every kind of difference, found against the German procedure, explained."""

from __future__ import annotations

import pytest

from casebridge.cooperation_models.schema import parse_model, vocabulary_of
from casebridge.training import compare
from casebridge.training.scenarios import load_scenarios

POLICE = "role:police_liaison"


@pytest.fixture(scope="module")
def world():
    spec = parse_model("germany")
    roles = spec.entries("case_roles")
    protocol = spec.entries("protocols")[0]
    return (
        protocol.rules,
        vocabulary_of(spec),
        compare.Roles(
            sectors={r.code: tuple(r.sectors) for r in roles},
            lead=frozenset(r.code for r in roles if r.lead),
        ),
        compare.Labels(
            roles={r.code: r.label for r in roles},
            categories={c.code: c.label for c in spec.entries("information_categories")},
            legal_bases={b.code: b.label for b in spec.entries("legal_bases")},
            rules={r.code: (r.label, r.description) for r in protocol.rules},
        ),
    )


def run(world, scenario, number, flows, party=None):
    rules, vocabulary, roles, _labels = world
    spec = load_scenarios()[scenario]
    return compare.compare(
        spec, number, [compare.Flow(*f) for f in flows], rules, vocabulary, roles, party=party
    )


def kinds(comparison):
    return sorted((d.kind, d.rule) for d in comparison.differences)


def test_nobody_informed_matches_the_worried_mother(world):
    assert run(world, "worried-mother", 1, []).correct
    assert run(world, "worried-mother", 2, []).correct


def test_informing_the_police_about_a_conversion_has_no_rule_and_breaches_the_barrier(world):
    result = run(
        world,
        "worried-mother",
        1,
        [
            (
                POLICE,
                "must_inform",
                ("counselling", "risk_assessment"),
                "consent_gdpr",
                "within_days:3",
            )
        ],
    )
    assert kinds(result) == [("barrier", "counselling-barrier"), ("unexpected", "")]
    barrier = next(d for d in result.differences if d.kind == "barrier")
    assert barrier.answered == ("counselling",)
    unexpected = next(d for d in result.differences if d.kind == "unexpected")
    assert unexpected.answered == ("risk_assessment",)


def test_exact_answer_at_the_child_welfare_event_matches(world):
    result = run(
        world,
        "school-report",
        3,
        [
            (
                "role:youth_welfare",
                "must_inform",
                ("child_welfare", "identity"),
                "child_protection_kkg",
                "within_hours:24",
            )
        ],
    )
    assert result.correct
    assert [m[0].rule for m in result.matches] == ["child-welfare"]


def test_each_field_of_a_matched_flow_is_compared(world):
    result = run(
        world,
        "school-report",
        3,
        [
            (
                "role:youth_welfare",
                "may_inform",
                ("child_welfare", "counselling"),
                "consent_gdpr",
                "within_days:7",
            )
        ],
    )
    assert kinds(result) == [
        ("categories_extra", "child-welfare"),
        ("categories_missing", "child-welfare"),
        ("deadline", "child-welfare"),
        ("legal_basis", "child-welfare"),
        ("obligation", "child-welfare"),
    ]


def test_a_missed_duty_is_a_difference(world):
    result = run(world, "danger-to-others", 3, [])
    assert ("missing", "duty-138") in kinds(result)
    assert len(result.differences) == 3  # duty-138, consent-first, present-danger-34


def test_the_barrier_is_set_aside_by_a_duty(world):
    """At 'very likely, imminent' the §138 duty overrides the barrier: identity may go."""
    flows = [
        (POLICE, "must_inform", ("identity", "risk_assessment"), "duty_to_report", "without_delay"),
        (POLICE, "may_inform", ("risk_assessment",), "consent_special_categories", "within_days:3"),
        (
            POLICE,
            "may_inform",
            ("identity", "risk_assessment"),
            "justifying_emergency",
            "without_delay",
        ),
    ]
    assert run(world, "danger-to-others", 3, flows).correct
    result = run(
        world,
        "danger-to-others",
        3,
        [*flows, (POLICE, "must_not_share", ("identity",), "professional_secrecy", "")],
    )
    assert kinds(result) == [("barrier_unknown", "duty-138")]


def test_declaring_the_barrier_where_it_holds_is_no_difference(world):
    result = run(
        world,
        "danger-to-others",
        1,
        [
            (POLICE, "may_inform", ("risk_assessment",), "justifying_emergency", "without_delay"),
            (POLICE, "must_not_share", ("counselling", "identity"), "professional_secrecy", ""),
        ],
    )
    assert result.correct


def test_a_party_not_yet_in_the_case_is_still_a_recipient(world):
    """Release: probation joins only at event 2, but must be involved before the release."""
    result = run(world, "prison-release", 1, [])
    missing = {(d.rule, d.recipient) for d in result.differences}
    assert missing == {
        ("release-probation", "role:probation"),
        ("release-lead", "role:lead_counselling"),
    }


def test_the_new_participant_is_briefed_with_the_others(world):
    result = run(world, "returning-family", 3, [])
    assert {d.recipient for d in result.differences} == {"role:youth_welfare", POLICE}


@pytest.mark.parametrize("language", ["en", "de"])
def test_every_difference_is_explained_naming_the_rule(world, language):
    from django.utils import translation

    *_rest, labels = world
    result = run(
        world,
        "danger-to-others",
        2,
        [(POLICE, "must_inform", ("counselling",), "consent_gdpr", "within_hours:24")],
    )
    assert result.differences
    with translation.override(language):
        for difference in result.differences:
            text = compare.explain(difference, labels)
            assert text
            if difference.rule:
                assert labels.rule(difference.rule) in text
        rule_label = labels.rule("present-danger-34")
    # The rule label comes from the procedure in the reader's language.
    expected = {"de": "Gegenwärtige Gefahr", "en": "Present danger"}[language]
    assert rule_label.startswith(expected)


# --- each player is scored on the flows of the role they play --------------------------------


def test_the_police_saying_nobody_is_informed_omit_nothing_the_lead_must_do(world):
    """danger-to-others, event 3: only the lead (the counsellor) must inform the police."""
    police = run(world, "danger-to-others", 3, [], party="police")
    assert police.correct
    assert police.expected == []
    assert {o.rule for o in police.others} == {"duty-138", "consent-first", "present-danger-34"}
    assert {o.sender for o in police.others} == {"counsellor"}
    counsellor = run(world, "danger-to-others", 3, [], party="counsellor")
    assert ("missing", "duty-138") in kinds(counsellor)
    assert counsellor.others == []


def test_the_prison_player_is_scored_on_the_release(world):
    """prison-release, event 1: the prison knows the date and informs probation and the lead."""
    probation = (
        "role:probation",
        "must_inform",
        ("case_coordination", "justice"),
        "consent_gdpr",
        "days_before_event:14",
    )
    lead = ("role:lead_counselling", "must_inform", ("justice",), "social_data_sgbx")
    lead += ("days_before_event:14",)
    prison = run(world, "prison-release", 1, [], party="prison")
    assert kinds(prison) == [("missing", "release-lead"), ("missing", "release-probation")]
    assert run(world, "prison-release", 1, [probation, lead], party="prison").correct
    partly = run(world, "prison-release", 1, [probation], party="prison")
    assert kinds(partly) == [("missing", "release-lead")]
    # the counsellor, the lead, is no longer told to inform probation of the release
    counsellor = run(world, "prison-release", 1, [], party="counsellor")
    assert counsellor.correct
    assert {(o.rule, o.sender) for o in counsellor.others} == {
        ("release-probation", "prison"),
        ("release-lead", "prison"),
    }


def test_naming_another_roles_flow_says_whose_it_is(world):
    *_rest, labels = world
    flow = (POLICE, "must_inform", ("identity", "risk_assessment"), "duty_to_report")
    flow += ("without_delay",)
    result = run(world, "danger-to-others", 3, [flow], party="police")
    assert kinds(result) == [("other_sender", "duty-138")]  # the duty sets the barrier aside
    other = next(d for d in result.differences if d.kind == "other_sender")
    assert other.sender == "counsellor"
    labels = compare.Labels(
        labels.roles,
        labels.categories,
        labels.legal_bases,
        labels.rules,
        parties={"counsellor": {"en": "NGO counsellor", "de": "NGO-Beratung"}},
    )
    text = compare.explain(other, labels)
    assert "not your role's task" in text and "NGO counsellor" in text


def test_the_sender_is_described_for_the_pages(world):
    *_rest, labels = world
    result = run(world, "prison-release", 1, [], party="counsellor")
    rows = [compare.describe(o, labels) for o in result.others]
    assert {r["sender"] for r in rows} == {"prison"}
    assert all(r["sender_label"] for r in rows)
