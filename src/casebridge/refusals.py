"""Refusals the user is told in words: the API answers 403 with the message as ``detail``,
pages show it on the 403 page (``casebridge.views.forbidden``). Nothing was done.

Other ``PermissionDenied`` stay wordless on purpose: their reasons may name cases or
organisations the user must not learn about (those answer 404 where it matters).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _


class Refusal(PermissionDenied):
    """A refusal the user is told in words: the API answers 403 with the message as
    ``detail``, pages show it on the 403 page. Nothing was done."""

    message = _("You are not allowed to do this.")

    def __init__(self, message=None):
        super().__init__(message if message is not None else self.message)

    def __str__(self) -> str:
        return str(self.args[0])


class ReauthRequired(Refusal):
    """A session that has not confirmed it is the user recently enough."""

    message = _(
        "Confirm that it is you first: open “Confirm it is you” in the browser, then "
        "repeat the request within a few minutes."
    )


class TokenRefused(Refusal):
    """A personal API token asked for something only a confirmed session may do."""

    message = _(
        "An API token cannot confirm that it is you, so it cannot do this. Do it in the "
        "browser, or through the API with your browser session after “Confirm it is you”."
    )


class EmergencyRefused(Refusal):
    """The user reads the case only by emergency access, which never writes or exports."""

    message = _(
        "You read this case by emergency access: you may read it on screen, but not change, "
        "disclose or export anything. Nothing was saved."
    )


@contextmanager
def hide_denials():
    """Answer 404 for a service's ``PermissionDenied`` (its reason is not for the user),
    but let a ``Refusal`` through: its message is."""
    try:
        yield
    except Refusal:
        raise
    except PermissionDenied:
        raise Http404 from None
