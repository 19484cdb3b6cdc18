from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.ops.demo import generate
from casebridge.ops.scale import scaled


class Command(BaseCommand):
    help = (
        "Generate synthetic network data for benchmarks (needs a loaded cooperation model): "
        "organisations and staff, then contacts, cases and entries in bulk. --scale S gives "
        "the realistic volume times S (1: 100,000 contacts, 20,000 cases, 500,000 entries); "
        "--contacts, --cases and --entries override its parts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organisations", type=int, default=100)
        parser.add_argument("--people", type=int, default=500)
        parser.add_argument("--scale", type=float, default=0, help="realistic volume × S")
        parser.add_argument("--contacts", type=int, default=None)
        parser.add_argument("--cases", type=int, default=None)
        parser.add_argument("--entries", type=int, default=None)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, organisations, people, scale, seed, **options):

        if scale < 0:
            raise CommandError(_("%(option)s: must not be negative") % {"option": "--scale"})
        volume = scaled(scale)
        for name in ("contacts", "cases", "entries"):
            if options[name] is not None:
                volume[name] = options[name]
        for name, value in (
            ("--organisations", organisations),
            ("--people", people),
            *((f"--{name}", value) for name, value in volume.items()),
        ):
            if value < 0:
                raise CommandError(_("%(option)s: must not be negative") % {"option": name})
        try:
            made = generate(organisations=organisations, people=people, seed=seed, **volume)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"generated {made['organisations']} organisations, {made['people']} people, "
            f"{made['contacts']} contacts, {made['referrals']} referrals, "
            f"{made['cases']} cases, {made['entries']} entries"
        )
