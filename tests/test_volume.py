"""The benchmark volume: the realistic defaults, their scale, and entries only in cases."""

from __future__ import annotations

import pytest

from casebridge.cases.models import Case, Entry
from casebridge.hotline.models import Contact
from casebridge.ops.scale import VOLUME, scaled
from casebridge.ops.volume import build, entries_build


def test_scale_multiplies_the_realistic_volume():
    assert scaled(1) == VOLUME == {"contacts": 100_000, "cases": 20_000, "entries": 500_000}
    assert scaled(10) == {"contacts": 1_000_000, "cases": 200_000, "entries": 5_000_000}
    assert scaled(0.01) == {"contacts": 1_000, "cases": 200, "entries": 5_000}


@pytest.mark.django_db
def test_build_writes_what_it_reports(personas):
    made = build(contacts=300, cases=30, entries=150, seed=3)
    assert made["contacts"] == 300 == Contact.objects.filter(reference__startswith="ST-").count()
    assert made["cases"] == 30 == Case.objects.filter(number__startswith="SG-").count()
    entries = Entry.objects.filter(title="synthetic entry")
    assert made["entries"] == 150 == entries.count()
    # each entry is written by an organisation that takes part in its case
    for entry in entries.select_related("case")[:50]:
        assert entry.case.participants.filter(organisation=entry.author_organisation).exists()


@pytest.mark.django_db
def test_entries_need_cases(personas):
    assert not Case.objects.exists()
    with pytest.raises(RuntimeError, match="entries need cases"):
        entries_build(count=5, author=personas.hotline)


@pytest.mark.django_db
def test_seated_personas_open_generated_cases_and_read_their_scope(personas):
    from casebridge.cases.selectors import access_case, case_entries
    from casebridge.ops.volume import seat_members

    build(contacts=200, cases=60, entries=600, seed=5)
    partner = personas.partner.memberships.get().organisation
    own = Case.objects.filter(number__startswith="SG-", participants__organisation=partner)
    assert own.count() >= 2  # the generator spreads cases over every counselling partner
    given = seat_members(["partner"], per_user=2, seed=5)
    assert given == {"partner": 2}
    seated = Case.objects.filter(number__startswith="SG-", participants__members=personas.partner)
    assert seated.count() == given["partner"]
    seen = 0
    for case in seated:
        assert access_case(personas.partner, case.pk) == case
        visible = case_entries(personas.partner, case)
        seen += len(visible)
        readable = set(
            case.participants.get(members=personas.partner).read_categories.values_list(
                "pk", flat=True
            )
        )
        assert {entry.category_id for entry in visible} <= readable
    assert seen > 0


@pytest.mark.django_db
def test_generated_volume_leaves_the_planner_informed(personas):
    """After a bulk load the planner must know the tables are not empty (issue 16: without
    ANALYZE the intake's referral queries took seconds on PostgreSQL)."""
    from django.db import connection

    from casebridge.ops.demo import generate

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics: PostgreSQL")
    generate(organisations=0, people=0, contacts=200, cases=20, entries=40, seed=5)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN "
            "('hotline_contact', 'hotline_referral', 'cases_case', 'cases_entry')"
        )
        rows = dict(cursor.fetchall())
    assert len(rows) == 4 and all(count > 0 for count in rows.values()), rows


@pytest.mark.django_db
def test_build_writes_realistic_outcomes(personas):
    """Issue 20: judgements at intake for most cases, at closure for most closed ones —
    mostly a step better, some unchanged, some worse, some missing —, consent to follow-up
    asked or not, given or refused, follow-ups done, missed or to come; levels on the
    dimensions' scales, on days the case was open (or after, at a follow-up)."""
    from collections import Counter

    from django.utils import timezone

    from casebridge.cooperation_models.models import Term
    from casebridge.outcomes.models import Assessment, FollowUp, FollowUpConsent, Rating
    from casebridge.stats.models import PhaseReached

    made = build(contacts=600, cases=300, seed=3)
    cases = list(Case.objects.filter(number__startswith="SG-"))
    closed = [case for case in cases if case.closed_at]
    assert made["assessments"] == Assessment.objects.count() > len(cases)
    occasions = Counter(Assessment.objects.values_list("occasion", flat=True))
    assert occasions["intake"] >= 0.8 * len(cases)
    assert 0.6 * len(closed) <= occasions["closure"] < len(closed)  # some never judged
    assert occasions["review"] > 0 and occasions["follow_up"] > 0
    scales = {
        term.pk: len(term.attributes["levels"]) for term in Term.objects.of("outcome_dimension")
    }
    today = timezone.localdate()
    for rating in Rating.objects.select_related("assessment__entry", "assessment__case")[:500]:
        assessment = rating.assessment
        assert 0 <= rating.level < scales[rating.dimension_id]
        assert assessment.entry.kind == "assessment" and assessment.entry.case == assessment.case
        assert timezone.localdate(assessment.case.opened_at) <= assessment.assessed_on <= today
        if assessment.occasion == "follow_up":
            assert assessment.follow_up.status == "done"
    headline = Term.objects.of("outcome_dimension").get(code="disengagement")
    levels = {
        (case, occasion): level
        for case, occasion, level in Rating.objects.filter(dimension=headline).values_list(
            "assessment__case", "assessment__occasion", "level"
        )
        if occasion in ("intake", "closure")
    }
    changes = Counter(
        "better" if after > before else "same" if after == before else "worse"
        for (case, occasion), after in levels.items()
        if occasion == "closure" and (before := levels.get((case, "intake"))) is not None
    )
    assert changes["better"] > changes["same"] > 0 and changes["worse"] > 0
    consents = FollowUpConsent.objects.filter(case__in=closed)
    assert 0 < consents.count() < len(closed)  # not asked for some
    assert {True, False} == set(consents.values_list("given", flat=True))
    statuses = set(FollowUp.objects.values_list("status", flat=True))
    assert {"done", "not_reached", "planned"} <= statuses
    assert not FollowUp.objects.exclude(case__follow_up_consent__given=True).exists()
    phases = dict(PhaseReached.objects.values_list("case", "phase"))
    assert all(phases[case.pk] == case.phase for case in cases if not case.closed_at)
    assert sum(1 for case in closed if case.pk not in phases) > 0  # closed before the record
