import sys

from django.core.management.base import BaseCommand, CommandError

from casebridge.crypto import keys
from casebridge.privacy.services import keys_rotate


class Command(BaseCommand):
    help = (
        "Generate a key line, or re-encrypt all identity data and documents with the current "
        "(first) key."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        generate = sub.add_parser(
            "generate", help="print a new key line ID:BASE64 for the key ring"
        )
        generate.add_argument("--id", default="k2", help="key id (letters and digits)")
        rotate = sub.add_parser(
            "rotate",
            help="re-encrypt every protected value and stored document with the first key",
        )
        rotate.add_argument("--batch", type=int, default=500)

    def handle(self, *args, action, **options):

        if action == "generate":
            if not options["id"].isalnum():
                raise CommandError("--id: letters and digits only")
            self.stdout.write(keys.new_key_line(options["id"]))
            return
        if options["batch"] < 1:
            raise CommandError("--batch: must be at least 1")

        def progress(done: int, total: int, unit: str) -> None:
            width = 30
            filled = width * done // max(total, 1)
            sys.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit}")
            sys.stdout.write("\n" if done == total else "")
            sys.stdout.flush()

        rotated = keys_rotate(batch_size=options["batch"], progress=progress)
        current = keys.key_ring().current[0]
        self.stdout.write(
            f"re-encrypted {rotated.rows} rows and {rotated.documents} documents with key {current}"
        )
