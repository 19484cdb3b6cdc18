"""Replay before signing (issue 19, part 3): a year of the network's history through a draft
of the German procedure and through the active version — target: seconds.

Usage:  .venv/bin/python bench/replay.py [--scale 0] [--repeat 7] [--profile]
        (PostgreSQL: DATABASE_URL=postgres://postgres@127.0.0.1:5432/cb_replay_bench)

A fresh database of its own (bench/harness.py): the German model, the demo (its network
year: 500 contacts, 90 cases) and with ``--scale S`` the realistic volume × S
(``casebridge generate``: 20,000 cases at 1; entries are not generated, the replay reads
none). The generator writes few protocol events (a case_opened stamped with the time of
generation), so this script adds a year of protocol history to every case open in the
last year, as the services would have recorded it: the case opened, participants added,
one to three risk judgements (likelihood and imminence as a professional might judge),
now and then a child welfare concern, travel plans or a release date, the case closed;
the obligations the active procedure attaches to each event (``sop.engine.evaluate``),
most of them fulfilled (some late), and an approved disclosure for many fulfilled ones.

The draft is the active ``de-default`` with three changes: the new participant's briefing
within 2 days instead of 7, a new must_inform rule (the police liaison at every
judgement of at least "predominantly likely"), and a new barrier (no risk assessment or
justice information to the child welfare sector). The hotline's procedure is replayed as
well, with its child-at-risk rule removed. Prints the median and p95 of ``replay_period``
over the last 365 days, what was replayed, the query count of one replay and what it found.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "bench")]

from harness import machine_line, percentile, with_fresh_database  # noqa: E402
from pages import own_key_ring  # noqa: E402

LIKELIHOOD = (["unlikely", "likely", "predominantly_likely", "very_likely"], [40, 35, 17, 8])
IMMINENCE = (["not_foreseeable", "medium_term", "imminent"], [50, 35, 15])


def prepare(scale: float) -> None:
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.ops.demo import demo_prepare, generate
    from casebridge.ops.model_load import model_load
    from casebridge.ops.scale import scaled

    started = time.perf_counter()
    model_load(spec=parse_model("germany"))
    demo_prepare()
    if scale:
        volume = {**scaled(scale), "entries": 0}
        generate(organisations=20, people=100, seed=1, **volume)
    made = add_history()
    print(f"prepared scale {scale} in {time.perf_counter() - started:.0f} s: {made}", flush=True)


def add_history(seed: int = 11) -> dict[str, int]:
    """A year of protocol events, obligations and approved disclosures in every case open
    in the last year (bulk, bench data only)."""
    from django.db import transaction
    from django.db.models import Q
    from django.utils import timezone

    from casebridge.accounts.models import User
    from casebridge.cases.models import Case, Participant
    from casebridge.cooperation_models.models import Term
    from casebridge.sharing.models import CaseEvent, Disclosure, Obligation, Protocol
    from casebridge.sop.engine import Party, evaluate

    rng = random.Random(seed)
    now = timezone.now()
    year_ago = now - timedelta(days=365)
    protocol = Protocol.objects.get(code="de-default", status=Protocol.Status.ACTIVE)
    rules = protocol.parsed_rules()
    actor = User.objects.order_by("pk").first()
    bases = {t.code: t for t in Term.objects.filter(kind="legal_basis")}
    categories = {t.code: t for t in Term.objects.filter(kind="information_category")}
    seats: dict[int, list] = {}
    for values in Participant.objects.filter(
        case__opened_at__lt=now, case__owner__type__code__in=protocol.parties
    ).values_list(
        "case_id",
        "id",
        "valid_from",
        "valid_until",
        "organisation__type__code",
        "organisation__type__sector__code",
        "role__code",
        "role__attributes",
    ):
        case_id, pk, since, until, type_code, sector, role, attributes = values
        party = Party(pk, type_code, type_code, sector, role, bool(attributes.get("lead")))
        seats.setdefault(case_id, []).append((since, until, party))
    cases = Case.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=year_ago),
        owner__type__code__in=protocol.parties,
    ).values_list("id", "opened_at", "closed_at")
    events = []
    for case_id, opened, closed in cases:
        start, stop = max(opened, year_ago), min(closed or now, now)
        if stop <= start:
            continue

        def at(start=start, stop=stop):
            return start + (stop - start) * rng.random()

        if opened >= year_ago:
            events.append(CaseEvent(case_id=case_id, code="case_opened", recorded_at=opened))
        for since, _until, party in seats.get(case_id, []):
            if not party.lead and since >= year_ago:
                events.append(
                    CaseEvent(case_id=case_id, code="participant_added", recorded_at=since)
                )
        for _n in range(rng.choices([0, 1, 2, 3], weights=[15, 45, 30, 10])[0]):
            events.append(
                CaseEvent(
                    case_id=case_id,
                    code="risk_judgement_recorded",
                    likelihood=rng.choices(*LIKELIHOOD)[0],
                    imminence=rng.choices(*IMMINENCE)[0],
                    recorded_at=at(),
                )
            )
        for code, share in (("child_welfare_concern", 0.05), ("travel_to_conflict_zone", 0.03)):
            if rng.random() < share:
                events.append(CaseEvent(case_id=case_id, code=code, recorded_at=at()))
        if rng.random() < 0.03:
            when = at()
            events.append(
                CaseEvent(
                    case_id=case_id,
                    code="release_scheduled",
                    event_date=(when + timedelta(days=rng.randint(20, 120))).date(),
                    recorded_at=when,
                )
            )
        if closed is not None and closed >= year_ago:
            events.append(CaseEvent(case_id=case_id, code="case_closed", recorded_at=closed))
    for event in events:
        event.recorded_by, event.protocol = actor, protocol
    obligations, disclosures = [], []
    with transaction.atomic():
        events = CaseEvent.objects.bulk_create(events, batch_size=1000)
        for event in events:
            t = event.recorded_at
            parties = [
                p
                for since, until, p in seats[event.case_id]
                if since <= t and (until is None or until > t)
            ]
            for outcome in evaluate(
                rules,
                parties,
                event.code,
                now=t,
                likelihood=event.likelihood,
                imminence=event.imminence,
                event_date=event.event_date,
            ):
                if outcome.obligation != "must_inform":
                    continue
                status = rng.choices(["fulfilled", "open", "cancelled"], weights=[75, 15, 10])[0]
                due = outcome.due or t + timedelta(days=7)
                done = None
                if status == "fulfilled":  # mostly in time, some late
                    done = t + (due - t) * rng.uniform(0.1, 1.6)
                    if done > now:
                        status, done = "open", None
                obligation = Obligation(
                    case_id=event.case_id,
                    event=event,
                    protocol=protocol,
                    rule=outcome.rule,
                    label=outcome.label[:300],
                    recipient_id=outcome.recipient_participant_id,
                    recipient_label=outcome.recipient[:200],
                    categories=outcome.categories,
                    legal_basis=outcome.legal_basis,
                    due_at=outcome.due,
                    status=status,
                    fulfilled_at=done,
                )
                obligations.append(obligation)
        obligations = Obligation.objects.bulk_create(obligations, batch_size=1000)
        leads = {
            case_id: next((p.participant_id for _s, _u, p in seated if p.lead), None)
            for case_id, seated in seats.items()
        }
        for obligation in obligations:
            lead = leads.get(obligation.case_id)
            if (
                obligation.status != "fulfilled"
                or obligation.recipient_id is None
                or lead is None
                or rng.random() >= 0.7
            ):
                continue
            disclosures.append(
                Disclosure(
                    case_id=obligation.case_id,
                    from_participant_id=lead,
                    to_participant_id=obligation.recipient_id,
                    excerpt_category=categories.get(obligation.categories[0]),
                    purpose="Synthetic: bench/replay.py.",
                    legal_basis=bases[obligation.legal_basis],
                    obligation=obligation,
                    requested_by=actor,
                    requested_at=obligation.fulfilled_at,
                    status=Disclosure.Status.APPROVED,
                    decided_by=actor,
                    decided_at=obligation.fulfilled_at,
                )
            )
        Disclosure.objects.bulk_create(disclosures, batch_size=1000)
    return {"events": len(events), "obligations": len(obligations), "disclosures": len(disclosures)}


def drafts():
    """The draft of the case procedure (three changes) and of the hotline's (one)."""
    from casebridge.sharing.models import Protocol

    active = Protocol.objects.get(code="de-default", status=Protocol.Status.ACTIVE)
    rules = copy.deepcopy(active.rules)
    for rule in rules:
        if rule["code"] == "brief-new-participant":
            rule["deadline"] = "within_days:2"
    rules += [
        {
            "code": "police-on-high-risk",
            "event": "risk_judgement_recorded",
            "condition": {"min_likelihood": "predominantly_likely"},
            "obligation": "must_inform",
            "recipient": {"role": "police_liaison"},
            "categories": ["risk_assessment"],
            "deadline": "within_days:3",
            "legal_basis": "justifying_emergency",
            "label": {
                "en": "Inform the police liaison of a high risk",
                "de": "Polizei bei hohem Risiko",
            },
        },
        {
            "code": "child-welfare-barrier",
            "event": "always",
            "obligation": "must_not_share",
            "recipient": {"sector": "child_welfare"},
            "categories": ["risk_assessment", "justice"],
            "legal_basis": "professional_secrecy",
            "label": {
                "en": "No risk assessment to child welfare",
                "de": "Keine Risikoeinschätzung an das Jugendamt",
            },
        },
    ]
    case_draft = Protocol.objects.create(
        code=active.code,
        version="bench-draft",
        effective_from=active.effective_from,
        parties=active.parties,
        labels=active.labels,
        rules=rules,
    )
    hotline = Protocol.objects.get(code="de-hotline", status=Protocol.Status.ACTIVE)
    hotline_draft = Protocol.objects.create(
        code=hotline.code,
        version="bench-draft",
        effective_from=hotline.effective_from,
        parties=hotline.parties,
        labels=hotline.labels,
        rules=[r for r in hotline.rules if r["code"] != "hotline-child-at-risk"],
    )
    return [("de-default", active, case_draft), ("de-hotline", hotline, hotline_draft)]


def run(connection, args) -> int:
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from casebridge.sharing.replay import replay_period

    prepare(args.scale)
    end = timezone.localdate()
    start = end - timedelta(days=364)
    print(machine_line(f", {connection.vendor}, scale {args.scale}, {args.repeat} runs each"))
    print(
        "| procedure | median s | p95 s | queries | case events | cases | hotline events "
        "| obligations | disclosures | changes found |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, baseline, draft in drafts():

        def once(baseline=baseline, draft=draft):
            return replay_period(baseline=baseline, draft=draft, start=start, end=end)

        with CaptureQueriesContext(connection) as queries:
            report = once()
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(once)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        seconds = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            once()
            seconds.append(time.perf_counter() - started)
        found = ", ".join(f"{kind} {n}" for kind, n in report.totals.items() if n)
        print(
            f"| {name} | {statistics.median(seconds):.2f} | {percentile(seconds, 0.95):.2f} "
            f"| {len(queries)} | {report.events} | {report.cases} | {report.hotline_events} "
            f"| {report.obligations} | {report.disclosures} | {found} |",
            flush=True,
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.0, help="realistic volume × S")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile one replay")
    args = parser.parse_args()
    own_key_ring("")
    return with_fresh_database("replay", lambda connection: run(connection, args))


if __name__ == "__main__":
    sys.exit(main())
