from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from casebridge.accounts.models import User
from casebridge.ops.demo import START_HERE, demo_prepare, demo_two_factor
from casebridge.ops.management.commands.serve import serve


class Command(BaseCommand):
    help = (
        "Prepare a demo installation (migrate, load the model, demo users and data) and serve it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="only prepare, do not serve")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, no_serve, host, port, **options):

        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", interactive=False, verbosity=0)
        call_command("model", "load", settings.CASEBRIDGE_MODEL, stdout=self.stdout)
        logins = demo_prepare()
        self.stdout.write("")
        self.stdout.write("Demo logins (fictitious people; for this local demo only):")
        for spec, organisation in logins:
            self.stdout.write(
                f"  {spec.username:<12} {spec.password:<26} {spec.role:<20} {organisation.name}"
            )
        secrets = [
            (spec.username, demo_two_factor(User.objects.get(username=spec.username)))
            for spec, _organisation in logins
        ]
        self.stdout.write("")
        self.stdout.write(
            "Two-factor authentication (demo secrets: add one to an authenticator app, "
            "time-based, 6 digits):"
        )
        for username, secret in secrets:
            if secret:
                self.stdout.write(f"  {username:<12} {secret}")
        self.stdout.write("")
        self.stdout.write("Where to start (sign in as ... and open ...):")
        for username, where in START_HERE.items():
            self.stdout.write(f"  {username:<12} {where}")
        self.stdout.write("")
        self.stdout.write(
            "The user guide: docs/user-guide.md (in this repository); operators: "
            "docs/operations.md."
        )
        if no_serve:
            return
        self.stdout.write("")
        serve(host=host, port=port, workers=2, stdout=self.stdout)
