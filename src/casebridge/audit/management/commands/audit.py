import time

from django.core.management.base import BaseCommand, CommandError

from casebridge.audit.services import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit non-zero at the first broken link."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, action, **options):
        started = time.perf_counter()
        checked, broken = audit_verify()
        seconds = time.perf_counter() - started
        if broken is not None:
            raise CommandError(
                f"audit chain broken at event {broken.sequence}: {broken.problem} "
                f"({checked} events before it are intact)"
            )
        self.stdout.write(f"audit chain intact: {checked} events verified in {seconds:.2f} s")
