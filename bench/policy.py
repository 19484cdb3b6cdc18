"""Benchmark: the need-to-know policy's decide() on case entries (target: < 20 µs per call),
side by side with the same rules written for pycasbin (optional dependencies: ``.[bench]``).

Usage:  .venv/bin/python bench/policy.py [--cases 20] [--entries 2000] [--rounds 20]
Fresh database as in routing.py: SQLite in memory, or PostgreSQL when DATABASE_URL is set
(as casebridge_bench_policy, dropped afterwards). Builds through the case services: one NGO
counsellor leads every case (and may write all it reads), one police liaison takes part in
all; entries in the seven categories by both sides; in every fourth case the police scope
is then narrowed to case coordination, so police-authored security entries stay visible
there by authorship only.
Measures the warm path (seats() cached on the user; entries loaded with case and category):
decide(user, VIEW, entry) for both users over all entries after a warm-up round, each call
timed alone with perf_counter_ns (timer cost printed, included in all figures); then
pycasbin's Enforcer (linear scan over all policy lines: --casbin-rounds) and FastEnforcer
(indexed by user and case) the same way, with a policy built from the same rows. All must
agree with decide() on every (user, entry) pair first, and visible() with decide() on
every case. Side figure: evaluating visible() for one case's entries, in ms.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from importlib.metadata import version

# Run as a script, so its own folder is on sys.path.
from harness import with_fresh_database

# Two kinds of policy line per seat: "p, user, case, category, -" for each category the
# seat reads by scope, and "p, user, case, -, organisation" for what its organisation wrote.
CASBIN_MODEL = """
[request_definition]
r = sub, case, cat, org
[policy_definition]
p = sub, case, cat, org
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = r.sub == p.sub && r.case == p.case && (r.cat == p.cat || r.org == p.org)
"""
NONE = "-"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--casbin-rounds", type=int, default=3, help="for the plain Enforcer")
    args = parser.parse_args()

    return with_fresh_database("policy", lambda connection: run(args, connection))


def build(args):
    """The world, through the services; returns (police, lead) as fresh users."""
    from casebridge.access.policy import forget
    from casebridge.accounts.models import Membership, Role, User
    from casebridge.cases import services
    from casebridge.cooperation_models.models import Term
    from casebridge.network.models import Organisation

    def organisation(type_code):
        found = Organisation.objects.filter(type__code=type_code, active=True)
        return found.filter(region__code__startswith="DE-HH").order_by("code").first()

    ngo, police_unit = organisation("ngo_counselling_partner"), organisation("police_liaison_unit")
    lead, police = User.objects.create_user("lead"), User.objects.create_user("police")
    Membership.objects.create(user=lead, organisation=ngo, role=Role.PARTNER_COUNSELLOR)
    Membership.objects.create(user=police, organisation=police_unit, role=Role.SECURITY_LIAISON)
    category = {t.code: t for t in Term.objects.of("information_category")}
    codes = sorted(category)  # the seven information categories
    liaison = Term.objects.of("case_role").get(code="police_liaison")
    rng = random.Random(7)
    cases, police_seats = [], []
    for n in range(args.cases):
        case = services.case_open(actor=lead, owner=ngo, pseudonym=f"Person {n}")
        seat = case.participants.get()
        read = list(seat.read_categories.all())  # the lead reads all seven and writes them too
        services.participant_scope(
            actor=lead, participant=seat, read=read, write=read, reason="bench: write all"
        )
        add = dict(organisation=police_unit, role=liaison, members=[police], reason="bench")
        police_seats.append(services.participant_add(actor=lead, case=case, **add))
        cases.append(case)
    forget(lead)  # participant_scope() leaves the actor's own cached seats as they were
    for n in range(args.entries):
        code = codes[n % len(codes)]
        by_police = code in ("case_coordination", "security") and rng.random() < 0.5
        services.entry_create(
            actor=police if by_police else lead,
            case=cases[rng.randrange(len(cases))],
            data=services.EntryData(kind="note", category=category[code], title=f"Entry {n}"),
        )
    coordination = [category["case_coordination"]]
    for seat in police_seats[::4]:
        services.participant_scope(
            actor=lead, participant=seat, read=coordination, write=coordination, reason="bench"
        )
    return User.objects.get(pk=police.pk), User.objects.get(pk=lead.pk)  # nothing cached


def casbin_rules() -> list[str]:
    """The policy lines from the database rows (not from seats()): named members of active
    participants with an active case-work membership, read scope minus never_by_scope."""
    from casebridge.access.policy import CASE_WORK_ROLES
    from casebridge.accounts.models import Membership
    from casebridge.cases.models import Participant

    staff = set(
        Membership.objects.active()
        .filter(role__in=CASE_WORK_ROLES, user__is_active=True)
        .values_list("user_id", "organisation_id")
    )
    rules = []
    participants = Participant.objects.active().select_related("organisation__type__sector")
    for p in participants.prefetch_related("members", "read_categories"):
        never = set(p.organisation.type.sector.never_by_scope)
        for member in p.members.all():
            if (member.pk, p.organisation_id) not in staff:
                continue
            seat = f"p, {member.pk}, {p.case_id}"
            rules.append(f"{seat}, {NONE}, {p.organisation_id}")
            rules += [
                f"{seat}, {t.pk}, {NONE}" for t in p.read_categories.all() if t.code not in never
            ]
    return rules


def timed(call, users, entries, rounds: int) -> list[list[float]]:
    """Microseconds per call, one sample per call, a list per user."""
    clock, samples = time.perf_counter_ns, [[] for _user in users]
    for _round in range(rounds):
        for user, into in zip(users, samples, strict=True):
            for entry in entries:
                started = clock()
                call(user, entry)
                into.append(clock() - started)
    return [[ns / 1000 for ns in of_user] for of_user in samples]


def run(args, connection) -> int:
    import casbin
    from casbin.model import FastModel, Model
    from casbin.persist.adapters import StringAdapter
    from casbin.util.log import disabled_logging
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    from casebridge.access.policy import Action, decide, seats, visible
    from casebridge.cases.models import Entry
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.ops.model_load import model_load

    model_load(spec=parse_model("germany"))
    started = time.perf_counter()
    users = police, lead = build(args)
    setup_s = time.perf_counter() - started
    cases = sorted({seat.case_id for seat in seats(police).values()})
    entries = list(Entry.objects.select_related("case", "category").order_by("pk"))
    translation.activate("de")

    rules = casbin_rules()
    disabled_logging()  # as the enforcers do after their (noisy) start

    def enforcer(cls, model, **options):
        model.load_model_from_text(CASBIN_MODEL)
        return cls(model, StringAdapter("\n".join(rules)), **options)

    plain = enforcer(casbin.Enforcer, Model())
    fast = enforcer(casbin.FastEnforcer, FastModel([0, 1]), cache_key_order=[0, 1])
    subject = {user.pk: str(user.pk) for user in users}

    def by_casebridge(user, entry):
        return decide(user, Action.VIEW, entry)

    def by_casbin(enforcer):  # the request's strings are made in the timed call
        return lambda user, e: enforcer.enforce(
            subject[user.pk], str(e.case_id), str(e.category_id), str(e.author_organisation_id)
        )

    evaluators = [
        ("casebridge decide()", by_casebridge, args.rounds),
        ("pycasbin Enforcer", by_casbin(plain), args.casbin_rounds),
        ("pycasbin FastEnforcer (user, case)", by_casbin(fast), args.rounds),
    ]
    allowed = {}
    for user in users:
        for entry in entries:
            allowed[user.pk, entry.pk] = expected = bool(by_casebridge(user, entry))
            for label, call, _rounds in evaluators[1:]:
                assert call(user, entry) == expected, (label, user, entry.pk, expected)
    visible_ms = {user.pk: [] for user in users}
    for user in users:
        for case_id in cases:
            started = time.perf_counter()
            shown = list(visible(user, Entry.objects.filter(case_id=case_id)))
            visible_ms[user.pk].append((time.perf_counter() - started) * 1000)
            want = {e.pk for e in entries if e.case_id == case_id and allowed[user.pk, e.pk]}
            assert {e.pk for e in shown} == want, (user, case_id)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        f", pycasbin {version('pycasbin')}"
    )
    print(
        f"database: {connection.vendor}; {len(cases)} cases, {len(entries)} entries "
        f"({sum(e.author_id == police.pk for e in entries)} by the police), "
        f"{len(rules)} casbin policy lines; setup {setup_s:.1f} s"
    )
    print(
        f"agreement: {len(allowed)} (user, entry) pairs, decide() == Enforcer == FastEnforcer; "
        f"allowed: police {sum(v for (u, _), v in allowed.items() if u == police.pk)}, "
        f"lead {sum(v for (u, _), v in allowed.items() if u == lead.pk)}; "
        f"visible() == decide() in {len(cases)} cases x 2 users"
    )
    overhead = timed(lambda user, entry: None, users, entries, 1)[0]
    print(f"timer + call overhead per sample: median {statistics.median(overhead):.2f} µs")
    medians = {}
    for label, call, rounds in evaluators:
        timed(call, users, entries, 1)  # warm-up round
        with CaptureQueriesContext(connection) as queries:
            per_user = timed(call, users, entries, rounds)
        assert not queries.captured_queries, f"{label}: {len(queries)} queries on the warm path"
        samples = [*per_user[0], *per_user[1]]
        medians[label] = statistics.median(samples)
        print(
            f"{label}, {rounds} rounds x 2 users x {len(entries)} entries (µs per call): "
            f"median {medians[label]:.2f}, p95 {percentile(samples, 0.95):.2f}, "
            f"p99 {percentile(samples, 0.99):.2f}, mean {statistics.fmean(samples):.2f} "
            f"(median police {statistics.median(per_user[0]):.2f}, "
            f"lead {statistics.median(per_user[1]):.2f}); 0 queries"
        )
    base = medians["casebridge decide()"]
    for label in list(medians)[1:]:
        print(f"ratio {label} / casebridge decide() (medians): {medians[label] / base:.1f}x")
    for user in users:
        ms = visible_ms[user.pk]
        print(
            f"visible() list of one case's entries, {user.username}, once per case (ms): "
            f"median {statistics.median(ms):.2f}, max {max(ms):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
