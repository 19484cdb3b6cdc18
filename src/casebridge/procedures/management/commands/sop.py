from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from casebridge.access.protocol import simulate
from casebridge.cases.selectors import case_for_operator
from casebridge.cooperation_models.schema import (
    ModelInvalid,
    parse_model,
    resolve_model_path,
    vocabulary_of,
)
from casebridge.procedures.services import protocol_activate
from casebridge.sharing.models import Protocol
from casebridge.sop import engine as sop
from casebridge.sop.events import EVENTS, IMMINENCE, LIKELIHOOD


class Command(BaseCommand):
    help = "Check protocols for contradictions and gaps, or simulate an event in a case."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="check the protocols of a model file (path or name)")
        check.add_argument("model", nargs="?", default="germany")
        activate = sub.add_parser(
            "activate",
            help="put a signed version into force (refused on errors or a missing signature)",
        )
        activate.add_argument("code")
        activate.add_argument("version")
        activate.add_argument("--date", default="", help="the day it takes effect, YYYY-MM-DD")
        simulate = sub.add_parser("simulate", help="who must or may inform whom, changing nothing")
        simulate.add_argument("--case", required=True, help="case number, e.g. HH-2026-0001")
        simulate.add_argument("--event", required=True)
        simulate.add_argument("--likelihood", default="")
        simulate.add_argument("--imminence", default="")
        simulate.add_argument("--date", default="", help="date of the event (release), YYYY-MM-DD")

    def handle(self, *args, action, **options):
        if action == "check":
            return self._check(options["model"])
        if action == "activate":
            return self._activate(options["code"], options["version"], options["date"])
        return self._simulate(options)

    def _activate(self, code: str, version: str, day: str) -> None:
        """The same service as the pages and the API: every signature, no error, a day
        that has not passed (DESIGN invariant 12); the operator acts for the machine."""
        protocol = Protocol.objects.filter(code=code, version=version).first()
        if protocol is None:
            raise CommandError(
                _("no protocol %(code)s %(version)s is loaded") % {"code": code, "version": version}
            )
        try:
            effective_from = date.fromisoformat(day) if day else timezone.localdate()
        except ValueError:
            raise CommandError(_("--date: use YYYY-MM-DD")) from None
        try:
            protocol_activate(actor=None, protocol=protocol, effective_from=effective_from)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.stderr.write(f"{field}: {message}")
            raise CommandError(_("the protocol was not activated")) from None
        self.stdout.write(
            _("%(code)s %(version)s is in force from %(date)s")
            % {"code": code, "version": version, "date": effective_from.isoformat()}
        )

    def _check(self, name: str) -> None:
        path = resolve_model_path(name)
        try:
            spec = parse_model(str(path))
        except ModelInvalid as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                _("%(count)s error(s); the protocols cannot be activated")
                % {"count": len(exc.errors)}
            ) from None
        vocab = vocabulary_of(spec)
        warnings = 0
        for protocol in spec.entries("protocols"):
            findings = sop.check(protocol, vocab)
            self.stdout.write(
                f"{path.name}: {protocol.code} {protocol.version} ({len(protocol.rules)} rules)"
            )
            for finding in findings:
                self.stdout.write(f"  {finding}")
            warnings += sum(f.level == "warning" for f in findings)
        self.stdout.write(_("no errors, %(count)s warning(s)") % {"count": warnings})

    def _simulate(self, options) -> None:

        case = case_for_operator(options["case"])
        if case is None:
            raise CommandError(_("--case: no case %(number)s") % {"number": options["case"]})

        if options["event"] not in EVENTS or options["event"] == "always":
            raise CommandError(
                _("--event: unknown event (known: %(events)s)")
                % {"events": ", ".join(e for e in EVENTS if e != "always")}
            )
        if options["likelihood"] and options["likelihood"] not in LIKELIHOOD:
            raise CommandError(
                _("--likelihood: one of %(values)s") % {"values": ", ".join(LIKELIHOOD)}
            )
        if options["imminence"] and options["imminence"] not in IMMINENCE:
            raise CommandError(
                _("--imminence: one of %(values)s") % {"values": ", ".join(IMMINENCE)}
            )
        try:
            event_date = date.fromisoformat(options["date"]) if options["date"] else None
        except ValueError:
            raise CommandError(_("--date: use YYYY-MM-DD")) from None
        protocol, outcomes = simulate(
            case,
            options["event"],
            likelihood=options["likelihood"],
            imminence=options["imminence"],
            event_date=event_date,
        )
        if protocol is None:
            self.stdout.write(
                _("No active protocol applies to %(number)s.") % {"number": case.number}
            )
            return
        self.stdout.write(
            f"{case.number} · {options['event']} · {protocol.code} {protocol.version}"
        )
        for outcome in outcomes:
            due = f" by {outcome.due:%Y-%m-%d %H:%M}" if outcome.due else ""
            extra = []
            if outcome.consent_required:
                extra.append("consent required")
            if outcome.second_approval:
                extra.append("second approval")
            if outcome.overridden_by:
                extra.append("overridden by " + ", ".join(outcome.overridden_by))
            self.stdout.write(
                f"  {outcome.obligation:<15} "
                + (f"{outcome.sender} → " if outcome.obligation != "must_not_share" else "")
                + f"{outcome.recipient}: "
                f"{', '.join(outcome.categories)}{due}"
                f" · {outcome.legal_basis}"
                + (f" · {'; '.join(extra)}" if extra else "")
                + f"  [{outcome.rule}]"
            )
        self.stdout.write(_("Nothing was changed."))
