"""Benchmark: a routing suggestion with the full German model (target: p95 < 5 ms).

Usage:  .venv/bin/python bench/routing.py [--samples 2000] [--with-referrals 5000]
Runs against a fresh database in a temporary folder: SQLite by default, PostgreSQL when
DATABASE_URL is set (as casebridge_bench_routing, created and dropped by Django's
test-database machinery). Prints medians and percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

# Run as a script, so its own folder is on sys.path.
from harness import machine_line, percentile, with_fresh_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument(
        "--with-referrals",
        type=int,
        default=2000,
        help="open referrals this month, so capacity is really counted",
    )
    args = parser.parse_args()

    return with_fresh_database("routing", lambda connection: run(args, connection))


def run(args, connection) -> int:
    from django.utils import timezone

    from casebridge.accounts.models import User
    from casebridge.cooperation_models.models import Term
    from casebridge.cooperation_models.schema import parse_model
    from casebridge.hotline import routing
    from casebridge.hotline.models import Contact, Referral
    from casebridge.network.models import Organisation, PostcodeArea
    from casebridge.ops.model_load import model_load

    model_load(spec=parse_model("germany"))
    rng = random.Random(7)
    postcodes = list(PostcodeArea.objects.values_list("postcode", flat=True))
    services = list(Term.objects.of("service").values_list("code", flat=True))
    languages = list(Term.objects.of("language").values_list("code", flat=True))

    if args.with_referrals:
        hotline = Organisation.objects.get(is_hotline=True)
        partners = list(
            Organisation.objects.filter(coverages__isnull=False, is_hotline=False).distinct()
        )
        user = User.objects.create_user(username="bench")
        term = {
            k: Term.objects.get(kind=k, code=c)
            for k, c in [
                ("language", "de"),
                ("caller_category", "parents_relatives"),
                ("contact_category", "clarification_needed"),
            ]
        }
        contacts = Contact.objects.bulk_create(
            Contact(
                reference=f"B-{n}",
                organisation=hotline,
                counsellor=user,
                channel="phone",
                started_at=timezone.now(),
                language=term["language"],
                caller_category=term["caller_category"],
                contact_category=term["contact_category"],
            )
            for n in range(args.with_referrals)
        )
        Referral.objects.bulk_create(
            Referral(contact=c, partner=rng.choice(partners), mode="anonymous", sent_by=user)
            for c in contacts
        )

    def sample():
        return dict(
            postcode=rng.choice(postcodes),
            services=rng.sample(services, rng.randint(0, 2)),
            language=rng.choice(["", "", *languages]),
        )

    for _ in range(50):  # warm the index and the connection
        s = sample()
        routing.suggest_for_postcode(s.pop("postcode"), **s)

    def measure(cold_capacity: bool) -> list[float]:
        timings = []
        for _ in range(args.samples):
            s = sample()
            if cold_capacity:
                routing.invalidate_capacity()
            started = time.perf_counter()
            routing.suggest_for_postcode(s.pop("postcode"), **s)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    print(machine_line())
    print(f"database: {connection.vendor}, open referrals this month: {args.with_referrals}")
    for label, cold in (
        ("capacity counts cached (<10 s old)", False),
        ("capacity counted on every call", True),
    ):
        timings = measure(cold)
        print(
            f"routing suggestion, {label}, {args.samples} samples (ms): "
            f"median {statistics.median(timings):.2f}, p95 {percentile(timings, 0.95):.2f}, "
            f"p99 {percentile(timings, 0.99):.2f}, max {max(timings):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
