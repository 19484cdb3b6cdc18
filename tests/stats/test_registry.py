"""Statistics read only what ``stats.registry`` lists: checked on the SQL they send."""

from __future__ import annotations

import pytest
from django.db import connection, models
from django.utils import timezone

from casebridge.crypto.fields import protected_fields
from casebridge.stats import indicators, selectors
from casebridge.stats.registry import (
    READABLE,
    NotReadable,
    QueryRecorder,
    columns_of,
    model_of,
    source,
    unregistered_columns,
)

# CharFields that are codes or public names, not free text: the only ones allowed
# without choices.
CODE_COLUMNS = {
    ("cooperation_models.Term", "code"),
    ("cooperation_models.Term", "kind"),
    ("network.Region", "code"),
    ("network.Region", "level"),
    ("network.Organisation", "code"),
    ("network.Organisation", "name"),
    ("network.Organisation", "short_name"),
    ("network.OrganisationType", "code"),
    ("network.Sector", "code"),
    ("sharing.Obligation", "rule"),
}


def test_the_registry_lists_no_identity_field_and_no_free_text():
    protected = {(model._meta.label, name) for model, name in protected_fields()}
    for label, names in READABLE.items():
        model = model_of(label)
        for name in names:
            field = model._meta.get_field(name)
            assert (label, name) not in protected, (label, name)
            assert not isinstance(field, models.TextField), (label, name)
            assert not isinstance(field, models.FileField), (label, name)
            if isinstance(field, models.CharField):
                assert field.choices or (label, name) in CODE_COLUMNS, (label, name)


def _filters(period, **narrowing):
    return indicators.Filters(period.start, period.end, **narrowing)


def _run_all(filters):
    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        for indicator in indicators.INDICATORS:
            indicator.compute(filters)
    return recorder


@pytest.mark.django_db
def test_every_indicator_touches_only_registered_columns(stats_data, personas):
    today = timezone.localdate()
    partner = personas.partner.memberships.get().organisation
    for filters in (
        _filters(selectors.period_of(today.year - 1)),
        _filters(selectors.period_of(today.year), organisation_id=partner.pk),
    ):
        recorder = _run_all(filters)
        assert len(recorder.statements) >= len(indicators.INDICATORS)
        assert set().union(*recorder.unregistered().values()) == set()


@pytest.mark.django_db
def test_the_checker_catches_a_rogue_query(stats_data):
    from casebridge.cases.models import Case
    from casebridge.hotline.models import Contact

    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        list(source(Contact).values("caller_name", "channel")[:3])
        list(source(Case).filter(pseudonym__startswith="P").values("id")[:3])
        list(source(Contact).values("referrals__message")[:1])
    bad = set().union(*recorder.unregistered().values())
    assert ("hotline_contact", "caller_name") in bad
    assert ("cases_case", "pseudonym") in bad
    assert ("hotline_referral", "message") in bad
    assert ("hotline_contact", "channel") not in bad


def test_the_parser_resolves_aliases_and_whole_tables():
    sql = (
        'SELECT "T3"."summary", "hotline_contact"."id" FROM "hotline_contact" '
        'INNER JOIN "hotline_contact" T3 ON ("hotline_contact"."earlier_contact_id" = "T3"."id") '
        'CROSS JOIN "audit_auditevent"'
    )
    assert ("hotline_contact", "summary") in columns_of(sql)
    assert ("audit_auditevent", "*") in columns_of(sql)
    assert unregistered_columns(sql) == {
        ("hotline_contact", "summary"),
        ("hotline_contact", "earlier_contact_id"),
        ("audit_auditevent", "*"),
    }


def test_source_refuses_unlisted_models():
    from casebridge.cases.models import Entry

    with pytest.raises(NotReadable):
        source(Entry)
