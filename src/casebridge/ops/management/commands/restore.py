from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.ops.backup import BackupError, restore_data


class Command(BaseCommand):
    help = (
        "Restore a data backup (database and documents) into this installation; stop the app "
        "servers and workers first. Key material is restored by copying the files back "
        "(docs/operations.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["data"])
        parser.add_argument("folder", help="a folder written by `casebridge backup data`")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database that has tables and a documents folder that is not empty",
        )

    def handle(self, *args, what, folder, force, **options):
        try:
            manifest = restore_data(Path(folder).resolve(), force=force)
        except BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            _("restored the backup of %(created)s; audit chain at sequence %(sequence)s")
            % {"created": manifest["created_at"], "sequence": manifest["audit_head"]["sequence"]}
        )
        self.stdout.write(_("next: casebridge migrate, then casebridge audit verify"))
