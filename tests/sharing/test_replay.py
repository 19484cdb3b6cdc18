"""Replay before signing (issue 19, part 3): the pure replay finds each kind of change and
nothing where there is none; the loader reads a period in a constant number of queries,
keeps to its days and writes nothing."""

from __future__ import annotations

import copy
import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from casebridge.access.protocol import event_raise
from casebridge.audit.models import AuditEvent
from casebridge.cooperation_models.schema import RuleEntry, parse_model
from casebridge.dates import local_midnight
from casebridge.sharing.models import CaseEvent, Disclosure, Obligation, Protocol
from casebridge.sharing.replay import replay_period
from casebridge.sop.engine import Party
from casebridge.sop.replay import (
    KINDS,
    PastDisclosure,
    PastObligation,
    ReplayEvent,
    replay,
)
from tests.builders import category, term

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
END = datetime(2026, 12, 31, tzinfo=UTC)
LEAD = Party(1, "NGO", "ngo_counselling_partner", "counselling_ngo", "lead_counselling", True)
POLICE = Party(2, "Police", "police_liaison_unit", "security", "police_liaison", False)
YOUTH = Party(3, "Youth", "youth_welfare_office", "child_welfare", "youth_welfare", False)


@pytest.fixture(scope="module")
def german():
    """The German case procedure's rules and the hotline's."""
    spec = parse_model("germany")
    case, hotline = spec.entries("protocols")[:2]
    return list(case.rules), list(hotline.rules)


def changed(rules, code, **fields):
    """``rules`` with rule ``code``'s fields replaced."""
    return [
        RuleEntry.model_validate({**r.model_dump(), **fields}) if r.code == code else r
        for r in rules
    ]


def without(rules, code):
    return [r for r in rules if r.code != code]


def rule(**fields) -> RuleEntry:
    return RuleEntry.model_validate(
        {"legal_basis": "consent_gdpr", "label": {"en": fields["code"]}, **fields}
    )


def event(pk, code, *, case=10, at=T0, parties=(LEAD, POLICE), **extra) -> ReplayEvent:
    return ReplayEvent(id=pk, case=case, code=code, recorded_at=at, parties=parties, **extra)


def run(baseline, draft, events=(), obligations=(), disclosures=(), **kwargs):
    return replay(
        events,
        obligations,
        disclosures,
        baseline_rules=baseline,
        draft_rules=draft,
        period_end=kwargs.pop("period_end", END),
        **kwargs,
    )


def row(report, code):
    return next(r for r in report.rows if r.rule == code)


def counts(report) -> dict[tuple[str, str], int]:
    """(rule, kind) -> count, for every kind that happened."""
    return {
        (r.rule, kind): getattr(r, kind).count
        for r in report.rows
        for kind in KINDS
        if getattr(r, kind).count
    }


def history():
    """A little of everything: a case with a lead, the police and the youth welfare office,
    its events, the obligations they created and the disclosures that fulfilled them."""
    parties = (LEAD, POLICE, YOUTH)
    events = [
        event(1, "case_opened", parties=(LEAD,)),
        event(2, "participant_added", at=T0 + timedelta(days=1), parties=parties),
        event(
            3,
            "risk_judgement_recorded",
            at=T0 + timedelta(days=2),
            parties=parties,
            likelihood="very_likely",
            imminence="imminent",
        ),
        event(4, "child_welfare_concern", at=T0 + timedelta(days=3), parties=parties),
        event(5, "danger_to_others", case=77, at=T0 + timedelta(days=4), parties=()),
    ]
    obligations = [
        PastObligation(
            event=2,
            rule="brief-new-participant",
            recipient=2,
            due_at=T0 + timedelta(days=8),
            fulfilled_at=T0 + timedelta(days=4),
            status="fulfilled",
        ),
        PastObligation(
            event=3, rule="duty-138", recipient=2, due_at=T0 + timedelta(days=2, hours=4)
        ),
        PastObligation(
            event=4,
            rule="child-welfare",
            recipient=3,
            due_at=T0 + timedelta(days=4),
            fulfilled_at=T0 + timedelta(days=3, hours=5),
            status="fulfilled",
        ),
    ]
    disclosures = [
        PastDisclosure(
            id=1,
            case=10,
            at=T0 + timedelta(days=3, hours=5),
            recipient=YOUTH,
            categories=frozenset({"child_welfare", "identity"}),
            legal_basis="child_protection_kkg",
            rule="child-welfare",
            event=4,
        ),
        PastDisclosure(
            id=2,
            case=10,
            at=T0 + timedelta(days=5),
            recipient=POLICE,
            categories=frozenset({"justice"}),
            legal_basis="consent_gdpr",
        ),
    ]
    return events, obligations, disclosures


# --- the pure replay: each kind of change ------------------------------------------------


def test_an_identical_draft_changes_nothing(german):
    rules, hotline = german
    events, obligations, disclosures = history()
    report = run(rules + hotline, copy.deepcopy(rules + hotline), events, obligations, disclosures)
    assert counts(report) == {}
    assert all(r.status == "same" and not r.changed for r in report.rows)
    assert report.cases_changed == 0
    assert set(report.totals.values()) == {0}
    assert (report.events, report.cases, report.hotline_events, report.contacts) == (4, 1, 1, 1)
    assert (report.obligations, report.disclosures) == (3, 2)
    assert [r.rule for r in report.rows] == sorted(r.code for r in rules + hotline)


def test_an_obligation_appears(german):
    rules, _hotline = german
    school = rule(
        code="police-on-opening",
        event="case_opened",
        obligation="must_inform",
        recipient={"role": "police_liaison"},
        categories=["case_coordination"],
        deadline="within_days:3",
    )
    events = [event(1, "case_opened"), event(2, "case_opened", case=11, parties=(LEAD,))]
    report = run(rules, [*rules, school], events)
    new = row(report, "police-on-opening")
    assert new.status == "added"
    assert new.obligations_added.count == 2
    first, second = new.obligations_added.examples
    assert (first.case, first.event, first.recipient) == (10, "case_opened", "Police")
    # nobody of the role takes part in case 11: the obligation stands towards nobody yet
    assert second.case == 11 and "not yet taking part" in second.recipient
    assert counts(report) == {("police-on-opening", "obligations_added"): 2}
    assert report.cases_changed == 2


def test_an_obligation_disappears(german):
    rules, _hotline = german
    events, obligations, _disclosures = history()
    report = run(rules, without(rules, "child-welfare"), events, obligations)
    gone = row(report, "child-welfare")
    assert gone.status == "removed"
    assert gone.obligations_removed.count == 1
    assert gone.obligations_removed.examples[0].recipient == "Youth"
    # a may_inform rule that becomes must_inform is an obligation appearing
    report = run(
        rules,
        changed(rules, "travel-plans", obligation="must_inform"),
        [event(9, "travel_to_conflict_zone")],
    )
    assert counts(report) == {("travel-plans", "obligations_added"): 1}
    assert row(report, "travel-plans").status == "changed"


def test_a_deadline_would_have_been_missed(german):
    rules, _hotline = german
    events, obligations, _disclosures = history()
    # briefed after 3 days: in time for 7 days, too late for 1
    report = run(
        rules,
        changed(rules, "brief-new-participant", deadline="within_days:1"),
        events,
        obligations,
    )
    assert counts(report) == {("brief-new-participant", "deadlines_missed"): 1}
    example = row(report, "brief-new-participant").deadlines_missed.examples[0]
    assert (example.case, example.event, example.recipient) == (10, "participant_added", "Police")
    # ... and in time again for 2 days less strict than it was missed: no longer missed
    late = [
        PastObligation(
            event=2,
            rule="brief-new-participant",
            recipient=2,
            due_at=T0 + timedelta(days=8),
            fulfilled_at=T0 + timedelta(days=9),
            status="fulfilled",
        )
    ]
    report = run(
        rules, changed(rules, "brief-new-participant", deadline="within_days:10"), events, late
    )
    assert counts(report) == {("brief-new-participant", "deadlines_met"): 1}


def test_an_open_obligation_counts_against_the_end_of_the_period(german):
    rules, _hotline = german
    events, _obligations, _disclosures = history()
    open_one = [
        PastObligation(
            event=2, rule="brief-new-participant", recipient=2, due_at=T0 + timedelta(days=8)
        )
    ]
    shorter = changed(rules, "brief-new-participant", deadline="within_days:2")
    # the period ends after 5 days: due after 2 is missed, after 7 (+1 for the event) not yet
    end = T0 + timedelta(days=5)
    report = run(rules, shorter, events, open_one, period_end=end)
    assert counts(report) == {("brief-new-participant", "deadlines_missed"): 1}
    # a cancelled obligation was never due
    cancelled = [PastObligation(**{**open_one[0].__dict__, "status": "cancelled"})]
    assert counts(run(rules, shorter, events, cancelled, period_end=end)) == {}
    # a period ending before either due time: nothing missed under either version
    assert counts(run(rules, shorter, events, open_one, period_end=T0)) == {}


def test_a_barrier_would_have_moved(german):
    rules, _hotline = german
    justice = rule(
        code="justice-barrier",
        event="always",
        obligation="must_not_share",
        recipient={"sector": "security"},
        categories=["justice"],
        legal_basis="professional_secrecy",
    )
    events, _obligations, _disclosures = history()
    report = run(rules, [*rules, justice], events)
    # four events in the case, one police participant: counted once per case and recipient
    assert counts(report) == {("justice-barrier", "barriers_added"): 1}
    example = row(report, "justice-barrier").barriers_added.examples[0]
    # first met when the police took part
    assert (example.case, example.event, example.recipient) == (10, "participant_added", "Police")
    # the health barrier removed: it would have fallen away towards the police
    report = run(rules, without(rules, "health-barrier"), events)
    assert counts(report) == {("health-barrier", "barriers_removed"): 1}


def test_an_override_would_have_moved(german):
    rules, _hotline = german
    events, _obligations, _disclosures = history()
    # the § 138 duty and § 34 no longer lift the counselling barrier: restored at event 3
    draft = changed(changed(rules, "duty-138", overrides=[]), "present-danger-34", overrides=[])
    report = run(rules, draft, events)
    assert counts(report) == {("counselling-barrier", "barriers_restored"): 1}
    example = row(report, "counselling-barrier").barriers_restored.examples[0]
    assert example.event == "risk_judgement_recorded"
    assert example.detail == "duty-138, present-danger-34"
    # the reverse: lifted under the draft only
    report = run(draft, rules, events)
    assert counts(report) == {("counselling-barrier", "barriers_lifted"): 1}


def test_a_disclosure_would_have_lost_its_basis(german):
    rules, _hotline = german
    events, obligations, disclosures = history()
    # the youth welfare office no longer the recipient of the child welfare duty: the
    # disclosure to it that fulfilled the duty has no rule behind it
    draft = changed(rules, "child-welfare", recipient={"role": "probation"})
    report = run(rules, draft, events, obligations, disclosures)
    lost = row(report, "child-welfare").disclosures_without_basis
    assert lost.count == 1
    assert (lost.examples[0].case, lost.examples[0].recipient, lost.examples[0].detail) == (
        10,
        "Youth",
        "rule",
    )
    # a may_inform keeps the basis (the duty disappears, the disclosure stays lawful)
    report = run(
        rules,
        changed(rules, "child-welfare", obligation="may_inform"),
        events,
        obligations,
        disclosures,
    )
    assert row(report, "child-welfare").disclosures_without_basis.count == 0
    assert row(report, "child-welfare").obligations_removed.count == 1


def test_a_disclosure_across_a_new_barrier_has_no_basis(german):
    rules, _hotline = german
    events, obligations, disclosures = history()
    justice = rule(
        code="justice-barrier",
        event="always",
        obligation="must_not_share",
        recipient={"sector": "security"},
        categories=["justice", "health"],
        legal_basis="professional_secrecy",
    )
    report = run(rules, [*rules, justice], events, obligations, disclosures)
    lost = row(report, "justice-barrier").disclosures_without_basis
    assert lost.count == 1  # the justice disclosure to the police, not the youth office's
    assert (lost.examples[0].recipient, lost.examples[0].detail) == ("Police", "justice-barrier")
    # a barrier on categories the disclosure does not share moves no disclosure
    other = justice.model_copy(update={"categories": ["health"]})
    report = run(rules, [*rules, other], events, obligations, disclosures)
    assert row(report, "justice-barrier").disclosures_without_basis.count == 0


def test_a_disclosure_fulfilling_an_earlier_event_is_judged_at_that_event(german):
    rules, _hotline = german
    _events, _obligations, disclosures = history()
    earlier = event(4, "child_welfare_concern", at=T0 - timedelta(days=40), parties=())
    draft = changed(rules, "child-welfare", recipient={"role": "probation"})
    report = run(rules, draft, [], [], disclosures[:1], earlier_events=[earlier])
    assert counts(report) == {("child-welfare", "disclosures_without_basis"): 1}
    assert report.events == 0  # judged, not replayed


def test_hotline_disclosures_to_prepare_appear_and_disappear(german):
    _rules, hotline = german
    events = [
        event(1, "danger_to_others", case=501, parties=()),
        event(2, "danger_to_self", case=502, parties=()),
        event(3, "danger_to_self", case=503, parties=()),
    ]
    draft = changed(
        without(hotline, "hotline-danger-to-others"),
        "hotline-danger-to-self",
        recipient={"organisation_type": "psychiatry_psychotherapy"},
    )
    report = run(hotline, draft, events)
    assert counts(report) == {
        ("hotline-danger-to-others", "hotline_removed"): 1,
        ("hotline-danger-to-self", "hotline_added"): 2,
        ("hotline-danger-to-self", "hotline_removed"): 2,
    }
    assert (report.hotline_events, report.contacts, report.events) == (3, 3, 0)
    assert report.cases_changed == 3


def test_the_replay_is_deterministic(german):
    rules, hotline = german
    events, obligations, disclosures = history()
    draft = [
        *changed(rules, "brief-new-participant", deadline="within_days:1"),
        rule(
            code="youth-on-risk",
            event="risk_judgement_recorded",
            obligation="must_inform",
            recipient={"role": "youth_welfare"},
            categories=["risk_assessment"],
        ),
    ]
    first = run(rules + hotline, draft + hotline, events, obligations, disclosures)
    shuffled = [list(x) for x in (events, obligations, disclosures)]
    for items in shuffled:
        random.Random(3).shuffle(items)
    again = run(rules + hotline, draft + hotline, *shuffled)
    assert first == again
    assert first.totals["obligations_added"] == 1
    assert first.totals["deadlines_missed"] == 1


# --- the loader ---------------------------------------------------------------------------


def _draft(active: Protocol, edit) -> Protocol:
    rules = copy.deepcopy(active.rules)
    rules = edit(rules) or rules
    return Protocol.objects.create(
        code=active.code,
        version="2099.1",
        status=Protocol.Status.DRAFT,
        effective_from=date(2099, 1, 1),
        parties=active.parties,
        labels=active.labels,
        rules=rules,
    )


def _shorter_briefing(rules):
    for r in rules:
        if r.get("code") == "brief-new-participant":
            r["deadline"] = "within_hours:1"


def _police_told_of_opening(rules):
    rules.append(
        {
            "code": "police-on-risk",
            "event": "risk_judgement_recorded",
            "obligation": "must_inform",
            "recipient": {"role": "police_liaison"},
            "categories": ["risk_assessment"],
            "deadline": "within_days:3",
            "legal_basis": "consent_gdpr",
            "label": {"en": "Police on every judgement", "de": "Polizei bei jeder Einschätzung"},
        }
    )


@pytest.fixture
def active():
    return Protocol.objects.get(code="de-default", status=Protocol.Status.ACTIVE)


def _approve(world, obligation: Obligation | None, categories, at) -> Disclosure:
    disclosure = Disclosure.objects.create(
        case=world.case,
        from_participant=world.lead,
        to_participant=obligation.recipient if obligation else world.police,
        excerpt="not read by the replay",
        excerpt_category=category(categories[0]),
        purpose="not read by the replay",
        legal_basis=term("legal_basis", "consent_gdpr"),
        justification="not read by the replay",
        obligation=obligation,
        requested_by=world.lead.lead_worker,
        status=Disclosure.Status.APPROVED,
        decided_at=at,
    )
    return disclosure


@pytest.mark.django_db
def test_the_loader_replays_the_days_history(personas, world, active):
    today = timezone.localdate()
    # the police seat was added today: its briefing is due in 7 days; briefed after 2 hours
    briefing = Obligation.objects.get(case=world.case, rule="brief-new-participant")
    Obligation.objects.filter(pk=briefing.pk).update(
        status="fulfilled", fulfilled_at=briefing.event.recorded_at + timedelta(hours=2)
    )
    justice = _approve(world, None, ["justice"], timezone.now())
    justice.entries.add(world.security)  # a security entry: category codes are read
    draft = _draft(active, lambda rules: _shorter_briefing(rules) or _police_told_of_opening(rules))

    report = replay_period(baseline=active, draft=draft, start=today, end=today)

    assert report.cases == 1
    codes = set(CaseEvent.objects.filter(case=world.case).values_list("code", flat=True))
    assert codes == {"case_opened", "participant_added", "risk_judgement_recorded"}
    assert report.events == 3
    assert report.obligations == Obligation.objects.filter(case=world.case).count()
    assert report.disclosures == 1
    assert counts(report) == {
        ("brief-new-participant", "deadlines_missed"): 1,
        ("police-on-risk", "obligations_added"): 1,
    }
    added = row(report, "police-on-risk").obligations_added.examples[0]
    assert added.case == world.case.pk and added.event == "risk_judgement_recorded"
    # the police seat is named by its organisation's type, never by a name
    police_type = world.police.organisation.type
    assert added.recipient == police_type.label
    assert world.police.organisation.name not in repr(report)
    assert "not read by the replay" not in repr(report)
    # the expired prison seat took part in no event of today
    assert "prison" not in {
        e.recipient for r in report.rows for _k, _h, t in r.changes for e in t.examples
    }


@pytest.mark.django_db
def test_the_loader_finds_a_disclosure_without_basis(personas, world, active):
    today = timezone.localdate()
    briefing = Obligation.objects.get(case=world.case, rule="brief-new-participant")
    _approve(world, briefing, ["case_coordination"], timezone.now())
    # the draft drops the briefing: the disclosure that fulfilled it loses its rule
    draft = _draft(active, lambda rules: [r for r in rules if r["code"] != "brief-new-participant"])

    report = replay_period(baseline=active, draft=draft, start=today, end=today)

    briefing_row = row(report, "brief-new-participant")
    assert briefing_row.status == "removed"
    assert briefing_row.disclosures_without_basis.count == 1
    assert briefing_row.disclosures_without_basis.examples[0].event == "participant_added"
    assert briefing_row.obligations_removed.count == 1
    # the same disclosure judged when its event lies before the period (read, not replayed)
    CaseEvent.objects.filter(pk=briefing.event_id).update(
        recorded_at=timezone.now() - timedelta(days=3)
    )
    report = replay_period(baseline=active, draft=draft, start=today, end=today)
    assert row(report, "brief-new-participant").disclosures_without_basis.count == 1
    assert row(report, "brief-new-participant").obligations_removed.count == 0


@pytest.mark.django_db
def test_the_loader_replays_hotline_events(personas, make_contact):
    from casebridge.access.protocol import contact_event_raise

    hotline = Protocol.objects.get(code="de-hotline", status=Protocol.Status.ACTIVE)
    contact = make_contact()
    contact_event_raise(actor=personas.hotline, contact=contact, code="danger_to_others")
    draft = _draft(
        hotline, lambda rules: [r for r in rules if r["code"] != "hotline-danger-to-others"]
    )
    today = timezone.localdate()
    report = replay_period(baseline=hotline, draft=draft, start=today, end=today)
    assert (report.hotline_events, report.contacts) == (1, 1)
    assert counts(report) == {("hotline-danger-to-others", "hotline_removed"): 1}
    assert row(report, "hotline-danger-to-others").hotline_removed.examples[0].case == contact.pk


def _rows_everywhere() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.mark.django_db
def test_the_replay_writes_nothing(personas, world, active):
    _approve(world, None, ["justice"], timezone.now())
    draft = _draft(active, lambda rules: _shorter_briefing(rules) or _police_told_of_opening(rules))
    before, audit = _rows_everywhere(), list(AuditEvent.objects.values_list("id", "hash"))
    changed_before = list(Obligation.objects.values_list("id", "status", "due_at", "fulfilled_at"))
    today = timezone.localdate()
    report = replay_period(
        baseline=active, draft=draft, start=today - timedelta(days=400), end=today
    )
    assert report.changed_rows
    assert _rows_everywhere() == before
    assert list(AuditEvent.objects.values_list("id", "hash")) == audit
    assert list(Obligation.objects.values_list("id", "status", "due_at", "fulfilled_at")) == (
        changed_before
    )


def _queries(active, draft) -> int:
    today = timezone.localdate()
    with CaptureQueriesContext(connection) as queries:
        replay_period(baseline=active, draft=draft, start=today, end=today)
    return len(queries)


@pytest.mark.django_db
def test_the_queries_do_not_grow_with_the_events(personas, world, active):
    draft = _draft(active, _shorter_briefing)
    CaseEvent.objects.exclude(
        pk=CaseEvent.objects.filter(case=world.case).earliest("pk").pk
    ).delete()
    assert CaseEvent.objects.count() == 1
    one = _queries(active, draft)
    for n in range(19):
        event_raise(
            actor=personas.partner,
            case=world.case,
            code="risk_judgement_recorded" if n % 2 else "participant_added",
            likelihood="very_likely",
            imminence="imminent",
        )
        if n % 5 == 0:
            _approve(
                world, Obligation.objects.order_by("-pk").first(), ["identity"], timezone.now()
            )
    assert CaseEvent.objects.count() == 20
    assert Obligation.objects.count() >= 19
    twenty = _queries(active, draft)
    assert one == twenty
    assert twenty <= 8


@pytest.mark.django_db
def test_the_period_is_its_days_in_local_time(personas, world, active):
    draft = _draft(active, _police_told_of_opening)
    first, last = (
        timezone.localdate() - timedelta(days=60),
        timezone.localdate() - timedelta(days=30),
    )
    event = CaseEvent.objects.filter(case=world.case, code="risk_judgement_recorded")
    day_after = local_midnight(last + timedelta(days=1))
    assert day_after != datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)

    def events_replayed():
        report = replay_period(baseline=active, draft=draft, start=first, end=last)
        return report.events, row(report, "police-on-risk").obligations_added.count

    # a minute before local midnight on the last day is in; local midnight after it is out
    event.update(recorded_at=day_after - timedelta(minutes=1))
    assert events_replayed() == (1, 1)
    event.update(recorded_at=day_after)
    assert events_replayed() == (0, 0)
    # the first day begins at local midnight
    event.update(recorded_at=local_midnight(first))
    assert events_replayed() == (1, 1)
    event.update(recorded_at=local_midnight(first) - timedelta(minutes=1))
    assert events_replayed() == (0, 0)


def _drafts(rules):
    """Drafts of every kind the tests above use, and one that touches an override only."""
    justice = rule(
        code="justice-barrier",
        event="always",
        obligation="must_not_share",
        recipient={"sector": "security"},
        categories=["justice"],
        legal_basis="professional_secrecy",
    )
    return [
        changed(rules, "brief-new-participant", deadline="within_days:1"),
        without(rules, "child-welfare"),
        changed(rules, "child-welfare", recipient={"role": "probation"}),
        [*rules, justice],
        without(rules, "health-barrier"),
        changed(changed(rules, "duty-138", overrides=[]), "present-danger-34", overrides=[]),
        changed(rules, "counselling-barrier", recipient={"sector": "child_welfare"}),
        changed(rules, "consent-first", obligation="must_inform"),
    ]


def test_evaluating_only_the_rules_that_differ_finds_the_same(german):
    rules, hotline = german
    events, obligations, disclosures = history()
    for draft in _drafts(rules):
        narrow = run(rules + hotline, draft + hotline, events, obligations, disclosures)
        full = run(rules + hotline, draft + hotline, events, obligations, disclosures, narrow=False)
        assert narrow == full
        assert counts(full)  # each draft changes something in this history
