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


def run(world, scenario, number, flows):
    rules, vocabulary, roles, _labels = world
    spec = load_scenarios()[scenario]
    return compare.compare(
        spec, number, [compare.Flow(*f) for f in flows], rules, vocabulary, roles
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
