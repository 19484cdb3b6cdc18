"""Statistics from a standby database (issue 21): which reads the router sends where, when
the standby may serve, and what pages, files, the API and the audit event say about it.

The standby itself (a real streaming replica, its promotion) is tested with real
clusters in tests/robustness/test_standby.py; here the decision is fed its inputs.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.test import override_settings

from casebridge import dbrouting
from casebridge.access import policy
from casebridge.accounts.models import Membership, User
from casebridge.audit import services as audit_services
from casebridge.audit.models import AuditEvent, ChainHead
from casebridge.cases.models import Case, Participant
from casebridge.dbrouting import REPLICA, ReadFrom, StandbyRouter, read_alias, reads_from
from casebridge.hotline.models import Contact
from casebridge.sharing.models import EmergencyAccess
from casebridge.stats.models import MonthFigures, Protection
from casebridge.stats.registry import READABLE

YEAR = date.today().year
MOMENT = datetime(2026, 5, 4, 12, 5, tzinfo=UTC)
STANDBY = ReadFrom(REPLICA, MOMENT)
ROUTER = StandbyRouter()
# what the need-to-know decision, audit, sign-in and sessions read: never the standby
PRIMARY_ONLY = (AuditEvent, ChainHead, User, Membership, Session, Protection, EmergencyAccess)


def test_outside_a_block_every_read_and_write_goes_to_the_primary():
    for model in (Contact, Case, Participant, MonthFigures, *PRIMARY_ONLY):
        assert ROUTER.db_for_read(model) == "default"
        assert ROUTER.db_for_write(model) == "default"


def test_inside_a_block_only_the_statistics_sources_are_read_from_the_standby():
    with reads_from(STANDBY, READABLE):
        for model in (Contact, Case, Participant, MonthFigures):
            assert ROUTER.db_for_read(model) == REPLICA, model
            assert ROUTER.db_for_write(model) == "default", model  # writes never
        for model in PRIMARY_ONLY:
            assert ROUTER.db_for_read(model) == "default", model
        # an object read from the standby is saved on the primary
        instance = Contact()
        instance._state.db = REPLICA
        assert ROUTER.db_for_write(Contact, instance=instance) == "default"
    assert ROUTER.db_for_read(Contact) == "default"  # the block ended
    assert not ROUTER.allow_migrate(REPLICA, "hotline")
    assert ROUTER.allow_migrate("default", "hotline")


def test_the_need_to_know_decision_and_audit_read_the_primary_even_inside_a_block():
    seen = []

    @dbrouting.on_primary
    def decision():
        seen.append(read_alias(Participant))

    with reads_from(STANDBY, READABLE):
        decision()
        assert read_alias(Participant) == REPLICA
    assert seen == ["default"]
    # the policy's entry points and the audit record run so
    for function in (
        policy.decide,
        policy.organisations_with,
        policy._derive_seats,
        audit_services.audit_record,
    ):
        assert function.__wrapped__, function


def _fed(monkeypatch, *, behind=None, recovering=True, error=None):
    """choose() with a configured standby whose answers are these."""
    monkeypatch.setattr(dbrouting, "replica_configured", lambda: True)
    monkeypatch.setattr(dbrouting, "_primary_position", lambda: ("0/3000060", MOMENT))

    def standby(lsn):
        assert lsn == "0/3000060"
        if error is not None:
            raise error
        return recovering, behind

    monkeypatch.setattr(dbrouting, "_standby_behind", standby)


def test_without_a_standby_the_primary_serves_as_of_now(monkeypatch):
    monkeypatch.setattr(dbrouting, "replica_configured", lambda: False)
    source = dbrouting.choose()
    assert source.alias == "default" and not source.standby and source.note == ""
    assert abs((datetime.now(UTC) - source.as_of).total_seconds()) < 60


def test_a_standby_that_has_caught_up_serves_as_of_the_primarys_moment(monkeypatch):
    _fed(monkeypatch, behind=0)
    assert dbrouting.choose() == ReadFrom(REPLICA, MOMENT)


@override_settings(REPLICA_CATCH_UP_SECONDS=0)
@pytest.mark.parametrize(
    ("fed", "note"),
    [
        ({"behind": 4096.0}, "the standby database is behind the primary"),
        ({"recovering": False}, "the standby database is not a standby"),
        ({"error": OperationalError("connection refused")}, "not reachable"),
    ],
)
def test_a_standby_behind_promoted_or_gone_leaves_the_figures_to_the_primary(
    monkeypatch, fed, note
):
    _fed(monkeypatch, **fed)
    source = dbrouting.choose()
    assert source.alias == "default" and note in source.note
    assert source.as_of == MOMENT


@override_settings(REPLICA_CATCH_UP_SECONDS=1)
def test_a_standby_a_moment_behind_is_waited_for(monkeypatch):
    answers = iter([(True, 100.0), (True, 100.0), (True, 0.0)])
    monkeypatch.setattr(dbrouting, "replica_configured", lambda: True)
    monkeypatch.setattr(dbrouting, "_primary_position", lambda: ("0/1", MOMENT))
    monkeypatch.setattr(dbrouting, "_standby_behind", lambda lsn: next(answers))
    assert dbrouting.choose().standby


@pytest.fixture
def standby_serves(monkeypatch):
    """The figures are read "from the standby" (the test database plays it: the router
    sends the statistics' reads to "default" while the source says standby)."""
    monkeypatch.setattr(dbrouting, "choose", lambda: ReadFrom("default", MOMENT))
    monkeypatch.setattr(ReadFrom, "standby", property(lambda self: True))


@pytest.mark.django_db
def test_the_page_says_as_of_when_and_from_which_database(personas, standby_serves):
    response = personas.client(personas.coordinator).get("/stats/", {"year": YEAR})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="as-of"' in body
    board = response.context["board"]
    assert board.as_of.endswith("(standby database)")
    assert board.as_of in body
    event = AuditEvent.objects.filter(action="stats.dashboard").latest("id")
    assert event.details["database"] == "standby"


@pytest.mark.django_db
@override_settings(REPLICA_CATCH_UP_SECONDS=0)
def test_the_page_warns_when_the_primary_serves_in_the_standbys_place(personas, monkeypatch):
    _fed(monkeypatch, error=OperationalError("connection refused"))
    response = personas.client(personas.coordinator).get("/stats/", {"year": YEAR})
    body = response.content.decode()
    assert response.status_code == 200
    assert "main database: the standby database is not reachable" in body
    assert 'class="message warning" id="as-of"' in body
    event = AuditEvent.objects.filter(action="stats.dashboard").latest("id")
    assert event.details["database"] == "primary"


@pytest.mark.django_db
def test_the_api_csv_and_report_say_it_too(stats_data, personas, standby_serves):
    client = personas.client(personas.coordinator)
    answer = client.get("/api/v1/stats/indicators", {"year": YEAR}).json()
    assert answer["database"] == "standby"
    assert answer["as_of"].startswith("2026-05-04T")
    assert answer["as_of_text"].endswith("(standby database)")
    partnership = client.get("/api/v1/stats/partnership", {"year": YEAR}).json()
    assert partnership["database"] == "standby"
    response = client.get("/stats/", {"year": YEAR, "format": "csv"})
    first = next(csv.reader(io.StringIO(response.content.decode())))
    assert first[4:] == ["as of", MOMENT.isoformat(), "database", "standby"]
    from openpyxl import load_workbook

    book = load_workbook(
        io.BytesIO(client.get("/stats/", {"year": YEAR, "format": "xlsx"}).content)
    )
    overview = [[c for c in row if c is not None] for row in book["Overview"].values]
    assert any(row[:1] == ["Counted"] and "(standby database)" in row[1] for row in overview)
    event = AuditEvent.objects.filter(action="stats.export").latest("id")
    assert event.details["database"] == "standby" and event.details["format"] == "xlsx"
