import time
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from casebridge.audit import export, signing
from casebridge.audit.models import AuditEvent
from casebridge.audit.services import audit_checkpoint, audit_prune, audit_verify, seal_pending


class Command(BaseCommand):
    help = (
        "The audit log: verify the hash chain and its signed checkpoints (exit non-zero at the "
        "first break), create the signing key, write a checkpoint, seal pending events, prune."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="check the chain and every signed checkpoint")
        verify.add_argument(
            "--public-key",
            type=Path,
            help="verify signatures with this public key file instead of the private key",
        )
        verify.add_argument(
            "--no-seal", action="store_true", help="only read: do not seal pending events first"
        )
        verify.add_argument(
            "--excerpt",
            type=Path,
            metavar="FILE",
            help="check an exported excerpt (CSV or JSON Lines) instead: every hash "
            "recomputed, consecutive events linked, each event still in the chain the same",
        )
        keygen = sub.add_parser("keygen", help="create the Ed25519 signing key (never overwrites)")
        keygen.add_argument("--path", type=Path, help=f"key file (default: {signing.KEY_ENV})")
        checkpoint = sub.add_parser("checkpoint", help="sign the chain's end now")
        checkpoint.add_argument(
            "--skip-without-key",
            action="store_true",
            help="warn instead of failing when no signing key is configured (the worker)",
        )
        sub.add_parser("seal", help="chain events that were committed but not yet sealed")
        prune = sub.add_parser("prune", help="delete the oldest events, keeping a signed anchor")
        prune.add_argument(
            "--before", required=True, help="date (YYYY-MM-DD, UTC): prune events before it"
        )
        prune.add_argument("--dry-run", action="store_true", help="only count")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except signing.AuditKeyError as exc:
            raise CommandError(str(exc)) from None

    def _verify(self, *, public_key, no_seal, excerpt, **options):
        if excerpt is not None:
            return self._verify_excerpt(excerpt)
        started = time.perf_counter()
        result = audit_verify(seal=not no_seal, public_key=public_key)
        seconds = time.perf_counter() - started
        if result.broken is not None:
            raise CommandError(
                f"audit chain broken at event {result.broken.sequence}: {result.broken.problem} "
                f"({result.checked} events before it are intact)"
            )
        start = f" from the anchor at {result.anchor}" if result.anchor else ""
        self.stdout.write(
            f"audit chain intact: {result.checked} events verified{start} in {seconds:.2f} s, "
            f"{result.checkpoints} signed checkpoints checked, {result.pending} events pending"
        )
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")

    def _verify_excerpt(self, path: Path):
        try:
            result = export.check_excerpt(export.read_excerpt(path))
        except (OSError, UnicodeError, ValueError) as exc:
            raise CommandError(f"{path}: cannot be read as an audit export ({exc})") from None
        stored = {}
        sequences = sorted(result.hashes)
        for start in range(0, len(sequences), 1000):
            stored.update(
                AuditEvent.objects.filter(sequence__in=sequences[start : start + 1000]).values_list(
                    "sequence", "hash"
                )
            )
        for sequence in sequences:
            if sequence in stored and stored[sequence] != result.hashes[sequence]:
                result.problems.append(f"event {sequence}: the chain holds another hash")
        if result.problems:
            raise CommandError(
                f"excerpt {path} does not verify: " + "; ".join(result.problems[:10])
            )
        self.stdout.write(
            f"excerpt intact: {result.rows} events, every hash recomputed, {result.links} links "
            f"checked, {len(stored)} events still in the chain and equal "
            f"({result.rows - len(stored)} pruned since)"
        )

    def _keygen(self, *, path, **options):
        private, public = signing.generate_key(path)
        self.stdout.write(f"audit signing key written to {private}, public key to {public}")

    def _checkpoint(self, *, skip_without_key, **options):
        try:
            checkpoint = audit_checkpoint()
        except signing.AuditKeyError as exc:
            if not skip_without_key:
                raise
            self.stderr.write(f"warning: no audit checkpoint: {exc}")
            return
        if checkpoint is None:
            self.stdout.write("no new events since the last checkpoint")
        else:
            self.stdout.write(f"checkpoint signed at sequence {checkpoint.sequence}")

    def _seal(self, **options):
        self.stdout.write(f"{seal_pending()} events sealed")

    def _prune(self, *, before, dry_run, **options):
        try:
            day = datetime.strptime(before, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise CommandError(f"--before: {before!r} is not a date (YYYY-MM-DD)") from None
        count = audit_prune(before=day, dry_run=dry_run)
        verb = "would be pruned" if dry_run else "pruned"
        self.stdout.write(f"{count} events {verb}")
