import time

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run background work: obligation reminders and escalations, and the task queue."

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval", type=int, default=900, help="seconds between reminder rounds"
        )
        parser.add_argument(
            "--once", action="store_true", help="one round, then exit (for cron and tests)"
        )

    def handle(self, *args, interval, once, **options):
        from casebridge.sharing.tasks import remind_and_escalate

        while True:
            remind_and_escalate.enqueue()
            # -- retention (privacy): at most once a day ----------------------------------
            from casebridge.privacy.retention import retention_due, retention_periods, retention_run

            if retention_periods() is not None and retention_due():
                retention_run(dry_run=False)
            # -----------------------------------------------------------------------------
            # Work the queue until it is empty, then wait for the next round.
            call_command("db_worker", "--batch", verbosity=0)
            if once:
                return
            time.sleep(max(interval, 30))
