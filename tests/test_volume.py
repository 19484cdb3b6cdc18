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
