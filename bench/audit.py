"""The audit chain's costs (issue 6): lock wait vs append, verify speed, request overhead,
and django-auditlog side by side.

    python bench/audit.py verify   [--events 1000000]     verify throughput (target 200,000/s)
    python bench/audit.py cost     [--requests 400]       a write request with/without audit
    python bench/audit.py lock     [--threads 8 --writes 60]   chain lock wait under load
    python bench/audit.py auditlog [--saves 2000]         our audit_record vs django-auditlog

SQLite by default; with DATABASE_URL=postgres://... the throwaway database cb_audit_bench
(or the name in BENCH_DB, so that two runs at once do not share one).
``lock`` compares the current design (pending insert, seal after commit) with the design
of commit 625c682 (chain head locked inside the caller's transaction), copied below.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(__file__))

from harness import machine_line, percentile


def fresh_database(run, settings_module="casebridge.settings") -> int:
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("CASEBRIDGE_DATA_DIR", tempfile.mkdtemp(prefix="casebridge-bench-"))
    os.environ.setdefault("CASEBRIDGE_KEYS", "b1:" + "A" * 43 + "=")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "sqlite":
        connection.settings_dict["TEST"]["NAME"] = os.environ.get("BENCH_DB", "cb_audit_bench")
    else:  # a file, so that threads share it (an in-memory test database would not do)
        connection.settings_dict["TEST"]["NAME"] = os.path.join(
            os.environ["CASEBRIDGE_DATA_DIR"], "bench.sqlite3"
        )
    old = setup_databases(verbosity=0, interactive=False)
    try:
        return run(connection)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(old, verbosity=0)


def stats_line(label: str, values: list[float], unit: str = "ms", scale: float = 1000) -> str:
    if not values:
        return f"| {label} | – | – | – |"
    med = statistics.median(values) * scale
    p95 = percentile(values, 0.95) * scale
    return f"| {label} | {med:.3f} {unit} | {p95:.3f} {unit} | {len(values)} |"


# --- the world: a case the lead may write to, through the services -----------------------


def build_world():
    from casebridge.accounts.models import Membership, Role, User
    from casebridge.cases import services
    from casebridge.cooperation_models.models import Term
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.network.models import Organisation
    from casebridge.ops.model_load import model_load

    model_load(spec=parse_model("germany"))
    ngo = (
        Organisation.objects.filter(type__code="ngo_counselling_partner", active=True)
        .order_by("code")
        .first()
    )
    leads = []
    for n in range(8):
        lead = User.objects.create_user(f"lead{n}")
        Membership.objects.create(user=lead, organisation=ngo, role=Role.PARTNER_COUNSELLOR)
        leads.append(lead)
    cases = [
        services.case_open(actor=lead, owner=ngo, pseudonym=f"P {n}")
        for n, lead in enumerate(leads)
    ]
    counselling = Term.objects.of("information_category").get(code="counselling")
    return leads, cases, counselling


# --- the design of commit 625c682, for comparison ----------------------------------------


def legacy_audit_record(timings):
    """audit_record as it was: the chain head locked in the caller's transaction."""
    from django.db import transaction
    from django.utils import timezone

    from casebridge.audit.models import AuditEvent, ChainHead

    def _digest(prev_hash, payload):
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()

    def audit_record(
        *,
        actor,
        action,
        obj=None,
        object_type="",
        object_id="",
        outcome="ok",
        purpose="",
        details=None,
    ):
        if obj is not None:
            object_type = object_type or obj._meta.label_lower
            object_id = object_id or obj.pk
        with transaction.atomic():
            asked = time.perf_counter()
            head, _created = ChainHead.objects.select_for_update().get_or_create(id=1)
            got = time.perf_counter()
            timings["wait"].append(got - asked)
            event = AuditEvent(
                sequence=head.sequence + 1,
                occurred_at=timezone.now(),
                actor=actor if getattr(actor, "pk", None) else None,
                actor_label=getattr(actor, "username", "") or "system",
                action=action,
                object_type=object_type,
                object_id=str(object_id or ""),
                outcome=outcome,
                purpose=purpose,
                remote_addr=None,
                details=details or {},
                prev_hash=head.hash,
            )
            payload = {
                "sequence": event.sequence,
                "occurred_at": event.occurred_at.isoformat(),
                "actor": event.actor_id,
                "actor_label": event.actor_label,
                "action": event.action,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "outcome": event.outcome,
                "purpose": event.purpose,
                "remote_addr": None,
                "details": event.details,
            }
            event.hash = _digest(event.prev_hash, payload)
            event.save(force_insert=True)
            head.sequence, head.hash = event.sequence, event.hash
            head.save(update_fields=["sequence", "hash"])
            timings["append"].append(time.perf_counter() - got)
            # the lock is released when the caller's transaction commits
            transaction.on_commit(lambda: timings["hold"].append(time.perf_counter() - got))
        return event

    return audit_record


def patch_audit_record(replacement):
    """Point every casebridge module that imported audit_record at ``replacement``."""
    from casebridge.audit import services as audit_services

    original = audit_services.audit_record
    patched = []
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("casebridge") and getattr(module, "audit_record", None) is original:
            module.audit_record = replacement
            patched.append(module)

    def undo():
        for module in patched:
            module.audit_record = original

    return undo


def instrument_seal(timings):
    """Time the seal's wait for the chain head and how long it holds it."""
    from casebridge.audit import chain

    original_lock, original_batch = chain.lock_head, chain.seal_batch
    local = threading.local()

    def lock_head(cursor, **kwargs):
        asked = time.perf_counter()
        result = original_lock(cursor, **kwargs)
        if result is None:  # skipped: another sealer holds the lock and will seal ours
            timings.setdefault("skipped", []).append(time.perf_counter() - asked)
            return result
        local.got = time.perf_counter()
        timings["wait"].append(local.got - asked)
        return result

    def seal_batch(limit, **kwargs):
        local.got = None
        sealed = original_batch(limit, **kwargs)
        if local.got is not None:
            timings["hold"].append(time.perf_counter() - local.got)
        return sealed

    chain.lock_head, chain.seal_batch = lock_head, seal_batch

    def undo():
        chain.lock_head, chain.seal_batch = original_lock, original_batch

    return undo


def instrument_insert(timings):
    from casebridge.audit import services as audit_services

    original = audit_services.audit_record

    def audit_record(**kwargs):
        started = time.perf_counter()
        event = original(**kwargs)
        timings["append"].append(time.perf_counter() - started)
        return event

    undo = patch_audit_record(audit_record)
    return undo


# --- a: lock wait vs append ----------------------------------------------------------------


def run_lock(args, connection) -> int:
    from django.db import connections

    from casebridge.audit.services import audit_verify
    from casebridge.cases import services

    leads, cases, counselling = build_world()
    print(machine_line(f", {connection.vendor}"))
    print(f"{args.threads} threads x {args.writes} entry_create() each, {args.rounds} rounds\n")
    results = {}
    for _round in range(args.rounds):
        for design in ("625c682", "pending+seal"):
            timings = {"wait": [], "hold": [], "append": [], "write": []}
            if design == "625c682":
                undo = patch_audit_record(legacy_audit_record(timings))
            else:
                undo_seal = instrument_seal(timings)
                undo_insert = instrument_insert(timings)

                def undo(undo_seal=undo_seal, undo_insert=undo_insert):
                    undo_insert()
                    undo_seal()

            barrier = threading.Barrier(args.threads)

            def worker(n, timings=timings, barrier=barrier):
                lead, case = leads[n], cases[n]
                barrier.wait()
                for i in range(args.writes):
                    started = time.perf_counter()
                    services.entry_create(
                        actor=lead,
                        case=case,
                        data=services.EntryData(
                            kind="note", category=counselling, title=f"entry {i}"
                        ),
                    )
                    timings["write"].append(time.perf_counter() - started)
                connections.close_all()

            threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            undo()
            total = results.setdefault(
                design,
                {"wait": [], "hold": [], "append": [], "write": [], "elapsed": 0.0, "writes": 0},
            )
            for key in ("wait", "hold", "append", "write", "skipped"):
                total.setdefault(key, []).extend(timings.get(key, []))
            total["elapsed"] += elapsed
            total["writes"] += args.threads * args.writes
            if design == "625c682":
                # the old rows carry the old hash format: chain them again for the next round
                from casebridge.audit.models import AuditEvent, ChainHead

                AuditEvent.objects.all().delete()
                ChainHead.objects.all().delete()
    for design, total in results.items():
        print(f"### {design}: {total['writes'] / total['elapsed']:.0f} writes/s\n")
        print("| measure | median | p95 | samples |\n|---|---|---|---|")
        print(stats_line("wait for the chain lock", total["wait"]))
        print(stats_line("chain lock held", total["hold"]))
        if total.get("skipped"):
            print(stats_line("seal skipped (lock busy; the holder seals it)", total["skipped"]))
        print(stats_line("append (insert; old: insert + head update)", total["append"]))
        print(stats_line("whole entry_create()", total["write"]))
        print()
    result = audit_verify()
    print(f"chain after the runs: {result.checked} events, broken: {result.broken}")
    return 0


# --- b: verify throughput --------------------------------------------------------------------


def generate_events(count: int) -> None:
    """``count`` sealed events with realistic content, chained as the seal would."""
    from django.contrib.auth import get_user_model

    from casebridge.audit import chain
    from casebridge.audit.models import AuditEvent, ChainHead, canonical_json

    user = get_user_model().objects.create_user("bench-actor")
    rng = random.Random(5)
    started = time.perf_counter()
    prev, start = chain.GENESIS, datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    actions = ["cases.entry.create", "cases.case.view", "hotline.contact.view", "cases.case.list"]
    for sequence in range(1, count + 1):
        at = start + timedelta(seconds=sequence, microseconds=rng.randrange(1, 999999))
        action = actions[sequence % 4]
        details = canonical_json({"case": f"NGO-2026-{sequence % 997:04d}", "count": sequence % 7})
        addr = f"192.0.2.{sequence % 250 + 1}"
        content = chain.SEPARATOR.join(
            [
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                str(user.pk),
                user.username,
                action,
                "cases.case",
                str(sequence % 997),
                "ok",
                "",
                addr,
                details,
            ]
        )
        current = chain.digest(prev, sequence, content)
        batch.append(
            AuditEvent(
                sequence=sequence,
                occurred_at=at,
                actor_id=user.pk,
                actor_label=user.username,
                action=action,
                object_type="cases.case",
                object_id=str(sequence % 997),
                outcome="ok",
                remote_addr=addr,
                details=json.loads(details),
                prev_hash=prev,
                hash=current,
            )
        )
        prev = current
        if len(batch) == 10000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    ChainHead.objects.update_or_create(id=1, defaults={"sequence": count, "hash": prev})
    print(f"{count} events generated in {time.perf_counter() - started:.0f} s")


def run_verify(args, connection) -> int:
    from casebridge.audit.services import audit_verify

    print(machine_line(f", {connection.vendor}"))
    generate_events(args.events)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE audit_auditevent")
    seconds = []
    for _ in range(args.rounds):
        began = time.perf_counter()
        result = audit_verify(seal=False)
        seconds.append(time.perf_counter() - began)
        assert result.broken is None and result.checked == args.events, result
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(audit_verify, seal=False)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(12)
    med = statistics.median(seconds)
    print(
        f"verify: median {med:.2f} s, best {min(seconds):.2f} s, worst {max(seconds):.2f} s "
        f"over {args.rounds} runs = {args.events / med:,.0f} events/s (median)"
    )
    return 0


# --- c: the audit's share of a typical write request ------------------------------------


def run_cost(args, connection) -> int:
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()  # "testserver" is an allowed host
    settings.SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
    leads, cases, _counselling = build_world()
    print(machine_line(f", {connection.vendor}"))
    client = Client()
    client.force_login(leads[0])
    url = reverse("cases:entry_add", args=[cases[0].pk])

    def noop(**kwargs):
        return None

    def post(i):
        response = client.post(
            url,
            {
                "entry-kind": "note",
                "entry-category": "counselling",
                "entry-title": f"Gespräch {i}",
                "entry-text": "Notiz " * 20,
            },
        )
        assert response.status_code in (200, 302), response.status_code

    for i in range(20):  # warm up
        post(i)
    audited, plain = [], []
    for i in range(args.requests):
        undo = patch_audit_record(noop) if i % 2 else None
        started = time.perf_counter()
        post(i)
        (plain if undo else audited).append(time.perf_counter() - started)
        if undo:
            undo()
    a, p = statistics.median(audited), statistics.median(plain)
    print("| variant | median | p95 | samples |\n|---|---|---|---|")
    print(stats_line("POST an entry, audited", audited))
    print(stats_line("POST an entry, audit_record a no-op", plain))
    a95, p95 = percentile(audited, 0.95), percentile(plain, 0.95)
    print(f"\naudit adds {100 * (a - p) / p:.1f} % (medians; p95: {100 * (a95 - p95) / p95:.1f} %)")
    return 0


# --- d: django-auditlog side by side ----------------------------------------------------------


def run_auditlog(args, connection) -> int:
    from auditlog.models import LogEntry
    from auditlog.registry import auditlog
    from django.db import transaction

    from casebridge.audit.services import audit_record
    from casebridge.cases import services
    from casebridge.cases.models import Entry

    leads, cases, counselling = build_world()
    print(machine_line(f", {connection.vendor}"))
    entries = [
        services.entry_create(
            actor=leads[0],
            case=cases[0],
            data=services.EntryData(kind="note", category=counselling, title=f"entry {n}"),
        )
        for n in range(20)
    ]
    from django.conf import settings

    from casebridge.audit.models import AuditEvent
    from casebridge.audit.services import background_sealer

    # casebridge with the seal at the end of the request, and (PostgreSQL) in the process's
    # sealer thread (AUDIT_SEAL_IN_BACKGROUND, the default there): the request's latency
    # without the seal, and the CPU of the seal still counted (blocks drained below).
    modes = ["plain", "casebridge", "auditlog"]
    if connection.vendor == "postgresql":
        modes.insert(2, "casebridge-background")
    timings = {mode: [] for mode in modes}
    cpu = {mode: 0.0 for mode in modes}

    def save(entry, i, mode):
        # Every save changes the field: django-auditlog writes nothing for a save without a
        # change (the first runs saved the same title three times and it logged only once).
        entry.title = f"entry {i} {mode}"
        started = time.perf_counter()
        with transaction.atomic():
            entry.save(update_fields=["title"])
            if mode.startswith("casebridge"):
                audit_record(
                    actor=leads[0],
                    action="cases.entry.update",
                    obj=entry,
                    details={"fields": ["title"]},
                )
        timings[mode].append(time.perf_counter() - started)

    block = 50  # saves per block; the modes alternate block by block
    for first in range(0, args.saves, block):
        for mode in modes:
            settings.AUDIT_SEAL_IN_BACKGROUND = mode == "casebridge-background"
            if mode == "auditlog":
                auditlog.register(Entry, include_fields=["title"])
            started_cpu = time.process_time()  # the whole process: the sealer thread too
            for i in range(first, min(first + block, args.saves)):
                save(entries[i % len(entries)], i, mode)
            if mode == "casebridge-background":
                assert background_sealer.wait_idle(30)
            cpu[mode] += time.process_time() - started_cpu
            if mode == "auditlog":
                auditlog.unregister(Entry)
    background_sealer.stop()
    assert not AuditEvent.objects.filter(sequence__isnull=True).exists(), "events left unsealed"
    logged = LogEntry.objects.count()
    print(f"django-auditlog wrote {logged} log entries for {args.saves} saves")
    assert logged == args.saves, "django-auditlog skipped saves: the comparison would be unfair"
    med = {mode: statistics.median(values) for mode, values in timings.items()}
    print("| save (own transaction) | median | p95 | samples | client CPU per save |")
    print("|---|---|---|---|---|")
    labels = {
        "plain": "save only",
        "casebridge": "save + casebridge audit_record, sealed in the request",
        "casebridge-background": "save + casebridge audit_record, sealed by the process's thread",
        "auditlog": "save with django-auditlog",
    }
    for mode in modes:
        line = stats_line(labels[mode], timings[mode])
        print(f"{line}| {cpu[mode] / args.saves * 1e3:.3f} ms |".replace("||", "|"))
    theirs = med["auditlog"] - med["plain"]
    print()
    for mode in modes[1:-1]:
        ours = med[mode] - med["plain"]
        cpu_ratio = (cpu[mode] - cpu["plain"]) / (cpu["auditlog"] - cpu["plain"])
        print(
            f"added per save ({mode}): {ours * 1e3:.3f} ms, django-auditlog {theirs * 1e3:.3f} ms;"
            f" ratio casebridge/auditlog = {ours / theirs:.2f} (added latency), "
            f"{cpu_ratio:.2f} (added client CPU)"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["verify", "cost", "lock", "auditlog"])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--writes", type=int, default=60)
    parser.add_argument("--saves", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="verify: one run under cProfile")
    args = parser.parse_args()
    run = {"verify": run_verify, "cost": run_cost, "lock": run_lock, "auditlog": run_auditlog}
    settings_module = "auditlog_settings" if args.what == "auditlog" else "casebridge.settings"
    return fresh_database(lambda connection: run[args.what](args, connection), settings_module)


if __name__ == "__main__":
    sys.exit(main())
