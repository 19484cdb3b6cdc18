from django.core.management.base import BaseCommand, CommandError

from casebridge.network.selectors import PostcodeError, region_for_postcode


class Command(BaseCommand):
    help = "Print the region path of a postcode, e.g. 20095 → Germany › Hamburg."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("postcode")

    def handle(self, *args, postcode, **options):
        try:
            place = region_for_postcode(postcode)
        except PostcodeError as exc:
            raise CommandError(str(exc)) from None
        path = " › ".join(region.label for region in place.path)
        self.stdout.write(f"{place.postcode} → {path}")
