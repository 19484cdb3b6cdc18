from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import ngettext

from casebridge.cooperation_models.schema import ModelInvalid, parse_model
from casebridge.ops.model_load import ModelConflict, model_load


class Command(BaseCommand):
    requires_system_checks: list[str] = []
    help = "Check or load a cooperation model file (a path or a shipped name such as germany)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["check", "load"])
        parser.add_argument("model", nargs="?", default=None, help="file or shipped model name")

    def handle(self, *args, action, model, **options):
        name = model or settings.CASEBRIDGE_MODEL
        try:
            spec = parse_model(name)
        except ModelInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            count = len(exc.errors)
            raise CommandError(
                ngettext(
                    "%(count)d error; nothing was loaded",
                    "%(count)d errors; nothing was loaded",
                    count,
                )
                % {"count": count}
            ) from None
        counts = ", ".join(f"{len(entries)} {table}" for table, entries in spec.tables.items())
        if spec.federation is not None:
            counts += f", {len(spec.federation.agreements)} federation.agreements"
        if action == "check":
            self.stdout.write(f"{spec.source}: valid ({counts}, {len(spec.postcodes)} postcodes)")
            return
        try:
            report = model_load(spec=spec)
        except ModelConflict as exc:
            raise CommandError(str(exc)) from None
        if not report.changed:
            self.stdout.write(f"{spec.source}: already loaded, nothing changed")
            return
        self.stdout.write(f"{spec.source}: loaded")
        for line in report.lines():
            self.stdout.write(f"  {line}")
