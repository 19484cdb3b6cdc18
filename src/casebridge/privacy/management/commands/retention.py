from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from casebridge.audit.signing import AuditKeyError
from casebridge.dates import local_midnight
from casebridge.privacy.retention import retention_run, rule_label


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now: expected a date YYYY-MM-DD, got {value!r}") from None


class Command(BaseCommand):
    help = "Apply the retention periods of the cooperation model (try --dry-run first)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="anonymise what is past its retention period")
        run.add_argument("--dry-run", action="store_true", help="only report what a run would do")
        run.add_argument(
            "--now", default="", help="evaluate the periods as of this day (YYYY-MM-DD)"
        )

    def handle(self, *args, action, dry_run, now, **options):

        moment = None
        if now:
            moment = local_midnight(_day(now))
        try:
            results = retention_run(now=moment, dry_run=dry_run)
        except AuditKeyError as exc:
            raise CommandError(
                f"audit events were not pruned, everything else was done: {exc}"
            ) from None
        except LookupError:
            raise CommandError(
                "the cooperation model has no [retention] table: nothing is deleted "
                "(see docs/cooperation-model.md)"
            ) from None
        verb = "would anonymise" if dry_run else "anonymised"
        self.stdout.write(f"{'rule':<28} {'record type':<16} {'before':<10} {verb:>16}")
        for result in results:
            self.stdout.write(
                f"{result.rule:<28} {result.record_type:<16} "
                f"{timezone.localdate(result.before).isoformat():<10} {result.count:>16}"
            )
        total = sum(r.count for r in results)
        self.stdout.write(
            f"dry run: {total} records would change, nothing was changed"
            if dry_run
            else f"done: {total} records changed"
        )
        if options["verbosity"] > 1:
            for result in results:
                self.stdout.write(f"  {result.rule}: {rule_label(result.rule)}")
