from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.ops.backup import BackupError, backup_data, backup_keys


class Command(BaseCommand):
    help = (
        "Back up the data (database and documents) or, to other storage, the key material. "
        "See docs/operations.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["data", "keys"])
        parser.add_argument("folder", help="a new or empty folder")

    def handle(self, *args, what, folder, **options):
        target = Path(folder).resolve()
        try:
            manifest = backup_data(target) if what == "data" else backup_keys(target)
        except BackupError as error:
            raise CommandError(str(error)) from None
        for name in sorted(manifest["files"]):
            self.stdout.write(f"  {target / name}")
        if what == "data":
            self.stdout.write(
                _("data backup written; audit chain at sequence %(sequence)s")
                % {"sequence": manifest["audit_head"]["sequence"]}
            )
        else:
            self.stdout.write(
                _("key backup written: keep it on other storage than the data backups")
            )
