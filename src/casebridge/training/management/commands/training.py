from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.cooperation_models.schema import ModelInvalid, parse_model, vocabulary_of
from casebridge.training.scenarios import (
    SCENARIOS_DIR,
    ScenarioInvalid,
    check_references,
    parse_scenario,
    scenario_files,
)


class Command(BaseCommand):
    help = "Check role-play scenario files against a cooperation model."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="check scenario files (a file or a folder)")
        check.add_argument("path", nargs="?", default=str(SCENARIOS_DIR))
        check.add_argument("--model", default="germany", help="model file (path or name)")

    def handle(self, *args, action, path, model, **options):
        try:
            vocabulary = vocabulary_of(parse_model(model))
        except ModelInvalid as exc:
            raise CommandError(str(exc)) from None
        target = Path(path)
        files = [target] if target.is_file() else scenario_files(target)
        if not files:
            raise CommandError(_("no scenario file in %(path)s") % {"path": path})
        errors = []
        for file in files:
            try:
                spec = parse_scenario(file)
            except ScenarioInvalid as exc:
                errors += exc.errors
                continue
            errors += check_references(spec, vocabulary, file=file.name)
        for error in errors:
            self.stderr.write(str(error))
        if errors:
            raise CommandError(_("%(count)s errors") % {"count": len(errors)})
        self.stdout.write(_("%(count)s scenarios valid") % {"count": len(files)})
