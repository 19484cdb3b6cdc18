from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.crypto.database import DatabaseStorage, MoveError, move_files_into_database
from casebridge.crypto.files import file_storage


class Command(BaseCommand):
    help = (
        "Where documents are kept (status), or move the sealed files of DATA_DIR/private "
        "into the database (move): copied as they are, read back and compared; safe to "
        "repeat. See docs/operations.md, “Several app servers”."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "move"])
        parser.add_argument(
            "--delete-files",
            action="store_true",
            help="remove each file once its copy in the database is verified",
        )

    def handle(self, *args, action, delete_files, **options):
        files = file_storage()
        if action == "status":
            on_disk = len(list(files.names()))
            in_database = len(list(DatabaseStorage().names()))
            self.stdout.write(
                _(
                    "DOCUMENT_STORAGE=%(storage)s; documents in the database: %(database)s; "
                    "files in %(folder)s: %(files)s"
                )
                % {
                    "storage": settings.DOCUMENT_STORAGE,
                    "database": in_database,
                    "folder": files.location,
                    "files": on_disk,
                }
            )
            return
        if settings.DOCUMENT_STORAGE != "database":
            raise CommandError(
                _("Set DOCUMENT_STORAGE=database first: the app would not read them there.")
            )
        try:
            counts = move_files_into_database(files, delete_files=delete_files)
        except MoveError as error:
            raise CommandError(
                _(
                    "Nothing more was moved: %(error)s. Files not encrypted are sealed by "
                    "“casebridge keys rotate”."
                )
                % {"error": error}
            ) from None
        self.stdout.write(
            _(
                "%(moved)s documents moved into the database and verified, %(present)s were "
                "there already; %(deleted)s files deleted"
            )
            % counts
        )
