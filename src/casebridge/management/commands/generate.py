from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = "Generate synthetic network data for benchmarks (needs a loaded cooperation model)."

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=100)
        parser.add_argument("--people", type=int, default=500)
        parser.add_argument("--contacts", type=int, default=0)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, organisations, people, contacts, seed, **options):
        from casebridge.demo import generate

        for name, value in (
            ("--organisations", organisations),
            ("--people", people),
            ("--contacts", contacts),
        ):
            if value < 0:
                raise CommandError(_("%(option)s: must not be negative") % {"option": name})
        try:
            made = generate(
                organisations=organisations, people=people, contacts=contacts, seed=seed
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"generated {made['organisations']} organisations, {made['people']} people, "
            f"{made['contacts']} contacts, {made['referrals']} referrals"
        )
