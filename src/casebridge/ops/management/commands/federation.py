from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from casebridge.federation import selectors, services
from casebridge.federation.models import Agreement


class Command(BaseCommand):
    help = (
        "Federation with partner installations (docs/federation.md): init (this "
        "installation's signing key; prints the public key for the partner's model file), "
        "match-key AGREEMENT [--set KEY] (the key agreed for person matches), deliver (send "
        "what waits in the outbox), reindex (match digests of open cases), scrub (empty "
        "message copies past the agreement's period), status."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "action", choices=["init", "match-key", "deliver", "reindex", "scrub", "status"]
        )
        parser.add_argument("agreement", nargs="?", default="")
        parser.add_argument("--set", dest="key", default=None, help="the agreed key, base64")
        parser.add_argument(
            "--now",
            action="store_true",
            help="deliver: try messages waiting for their next attempt at once",
        )

    def _agreement(self, code: str) -> Agreement:
        agreement = Agreement.objects.filter(code=code).first()
        if agreement is None:
            raise CommandError(
                _("agreement: no federation agreement %(code)s in the loaded model")
                % {"code": code or "''"}
            )
        return agreement

    def handle(self, *args, action, agreement, key, now, **options):
        if action == "init":
            public = services.init_keys()
            self.stdout.write(
                _('installation: %(code)s\npublic_key = "%(key)s"')
                % {"code": services.installation() or "-", "key": public}
            )
        elif action == "match-key":
            try:
                text = services.match_key_set(self._agreement(agreement), key)
            except ValidationError as error:
                raise CommandError("--set: " + " ".join(error.messages)) from None
            if key is None:
                self.stdout.write(
                    _("A new match key; give it to the partner through a safe channel:\n%(key)s")
                    % {"key": text}
                )
            else:
                self.stdout.write(_("The match key is stored."))
        elif action == "deliver":
            counts = services.deliver_pending(
                agreement_id=self._agreement(agreement).pk if agreement else None, early=now
            )
            self.stdout.write(
                _("%(delivered)s delivered, %(refused)s refused, %(waiting)s waiting") % counts
            )
        elif action == "reindex":
            agreements = [self._agreement(agreement)] if agreement else Agreement.objects.all()
            for item in agreements:
                done = services.refresh_digests(item)
                self.stdout.write(
                    _("%(code)s: %(count)s cases digested") % {"code": item.code, "count": done}
                )
        elif action == "scrub":
            self.stdout.write(
                _("%(count)s message copies emptied") % {"count": services.scrub_expired()}
            )
        else:
            for item in Agreement.objects.all():
                waiting = selectors.waiting(item)
                self.stdout.write(
                    _("%(code)s with %(partner)s: %(state)s, %(waiting)s waiting to be sent")
                    % {
                        "code": item.code,
                        "partner": item.partner,
                        "state": _("in force") if item.in_force() else _("not in force"),
                        "waiting": waiting,
                    }
                )
