from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from gunicorn.app.base import BaseApplication


class Command(BaseCommand):
    help = "Serve an existing database with gunicorn (static files through WhiteNoise)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, host, port, workers, **options):
        if not 0 < port < 65536:
            raise CommandError(_("--port: must be between 1 and 65535"))
        if workers < 1:
            raise CommandError(_("--workers: must be at least 1"))
        serve(host=host, port=port, workers=workers, stdout=self.stdout)


def serve(*, host: str, port: int, workers: int, stdout) -> None:
    """Run gunicorn in this process until interrupted."""
    # the WSGI application is built here, after collectstatic, not when the command's
    # module is imported (``demo --help`` would build it and warn of missing files)
    from casebridge.wsgi import application  # noqa: PLC0415

    call_command("collectstatic", interactive=False, verbosity=0)

    class _Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", None)  # access logs would hold query strings
            self.cfg.set("errorlog", "-")

        def load(self):
            return application

    stdout.write(f"casebridge serving on http://{host}:{port}/ (data in {settings.DATA_DIR})")
    _Server().run()
