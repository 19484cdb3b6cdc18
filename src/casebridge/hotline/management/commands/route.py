from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.cooperation_models.models import Term
from casebridge.hotline.routing import suggest_for_postcode
from casebridge.network.selectors import PostcodeError


class Command(BaseCommand):
    help = "Rank local counselling partners for a postcode and say why (as the intake does)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--postcode", required=True)
        parser.add_argument("--service", action="append", default=[], help="repeat for several")
        parser.add_argument("--language", default="")
        parser.add_argument("--limit", type=int, default=5)

    def handle(self, *args, postcode, service, language, limit, **options):
        for option, kind, codes in (
            ("--service", "service", service),
            ("--language", "language", [language] if language else []),
        ):
            known = set(Term.objects.of(kind).values_list("code", flat=True))
            unknown = [code for code in codes if code not in known]
            if unknown:
                raise CommandError(
                    _("%(option)s: unknown %(codes)s (known: %(known)s)")
                    % {
                        "option": option,
                        "codes": ", ".join(unknown),
                        "known": ", ".join(sorted(known)),
                    }
                )
        if limit < 1:
            raise CommandError(_("--limit: must be at least 1"))
        try:
            place, suggestions = suggest_for_postcode(
                postcode, services=service, language=language, limit=limit
            )
        except PostcodeError as exc:
            raise CommandError(str(exc)) from None
        path = " › ".join(region.label for region in place.path)
        self.stdout.write(f"{place.postcode} → {path}")
        for rank, suggestion in enumerate(suggestions, start=1):
            self.stdout.write(f"{rank}. {suggestion.name}")
            for reason in suggestion.reasons:
                self.stdout.write(f"     {reason}")
