import time

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from casebridge.audit.signing import AuditKeyError
from casebridge.federation.services import deliver_pending, scrub_expired
from casebridge.outcomes.tasks import remind_follow_ups
from casebridge.privacy.retention import retention_due, retention_periods, retention_run
from casebridge.procedures.tasks import retire_ended_versions
from casebridge.sharing.tasks import close_expired_emergency_access, remind_and_escalate
from casebridge.stats import outcome_figures
from casebridge.stats.aggregates import refresh_stale
from casebridge.stats.selectors import decide_ahead


class Command(BaseCommand):
    help = (
        "Run background work: obligation reminders and escalations, the end of expired "
        "emergency accesses, the end of a procedure's version, follow-up reminders, "
        "retention, the statistics' monthly figures, the federation's outbox and the end "
        "of its message copies, and the task queue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=int, default=900, help="seconds between reminder rounds"
        )
        parser.add_argument(
            "--stats-interval",
            type=int,
            default=60,
            help="seconds between counts of the statistics' changed months within a round",
        )
        parser.add_argument(
            "--once", action="store_true", help="one round, then exit (for cron and tests)"
        )

    def handle(self, *args, interval, stats_interval, once, **options):

        while True:
            remind_and_escalate.enqueue()
            close_expired_emergency_access.enqueue()
            retire_ended_versions.enqueue()  # a procedure's version past its last day
            remind_follow_ups.enqueue()  # follow-ups after closure, with consent only
            # Retention (the cooperation model's periods), at most once a day.
            if retention_periods() is not None and retention_due():
                try:
                    retention_run(dry_run=False)
                except AuditKeyError as exc:  # the rest of retention is done and committed
                    self.stderr.write(f"retention: audit events were not pruned: {exc}")
            # Count the months that changed and protect this year's network figures, so
            # that dashboards find their figures and the protection decided.
            refresh_stale()
            outcome_figures.refresh_stale()  # closed cases' outcomes (issue 20)
            decide_ahead()
            # Federation (docs/federation.md): what waits for a partner, in order, and the
            # copies of messages past their agreement's period.
            deliver_pending()
            scrub_expired()
            # Work the queue until it is empty, then wait for the next round.
            call_command("db_worker", "--batch", verbosity=0)
            # Seal what is pending and sign the audit chain's end (docs/operations.md).
            call_command(
                "audit", "checkpoint", "--skip-without-key", stdout=self.stdout, stderr=self.stderr
            )
            if once:
                return
            # Until the next round, count changed months often, so that a dashboard after
            # a change rarely has to (a month at a million contacts takes ~0.4 s).
            pause, step = max(interval, 30), max(stats_interval, 10)
            while pause > 0:
                time.sleep(min(step, pause))
                pause -= step
                close_old_connections()  # a long-lived process: drop a broken connection
                refresh_stale()
                outcome_figures.refresh_stale()
                decide_ahead()
                deliver_pending()  # retries fall due after 30 s, 1 min, 2 min, …
