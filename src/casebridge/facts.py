"""Facts about a user, derived once per request and derived again after a change.

The roles of a user (``accounts.permissions``, ``access.policy``), their seats in cases
(``access.policy.seats``) and their second factor (``accounts.two_factor``) are asked many
times in one request. Each is derived once and kept on the user object — one object per
request — in one place: ``fact(user, name, derive)``.

Kept facts belong to a *generation*. Saving or deleting anything they are derived from —
a membership, a participant, its members or scopes, a disclosure and its entries, an
emergency access, an authenticator device, an organisation, a sector, a vocabulary term —
starts a new generation in this process (each app connects ``changed`` to its models'
signals in its ``ready()``), and every kept fact of an older generation is derived again
when next asked. So no fact outlives a change of scope, membership or disclosure, and no
code has to remember to drop one. A change made by another process reaches a user with
the next request, which builds a new user object. Writes that bypass the signals (bulk
loads) call ``changed()`` themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

_generation = 0


def changed(*args, **kwargs) -> None:
    """Start a new generation: every kept fact is derived again (a signal receiver)."""
    global _generation
    _generation += 1


def fact(user, name: str, derive: Callable[[], T]) -> T:
    """The fact ``name`` about ``user``, derived by ``derive()`` once per generation."""
    kept = user.__dict__.get("_casebridge_facts")
    if kept is None or kept[0] != _generation:
        kept = (_generation, {})
        user.__dict__["_casebridge_facts"] = kept
    facts = kept[1]
    if name not in facts:
        facts[name] = derive()
    return facts[name]


def generation() -> int:
    """The current generation (something kept beside the facts may follow it)."""
    return _generation


_installation: tuple[int, dict] = (-1, {})


def installation_fact(name: str, derive: Callable[[], T]) -> T:
    """A fact about the installation rather than a user (e.g. the id of a vocabulary
    term), kept in this process for one generation like a user's facts."""
    global _installation
    if _installation[0] != _generation:
        _installation = (_generation, {})
    facts = _installation[1]
    if name not in facts:
        facts[name] = derive()
    return facts[name]


def known_fact(user, name: str):
    """The fact ``name`` about ``user`` if it is derived already in this generation, else None."""
    kept = user.__dict__.get("_casebridge_facts")
    if kept is None or kept[0] != _generation:
        return None
    return kept[1].get(name)


def watch(*models) -> None:
    """Start a new generation whenever one of ``models`` is saved or deleted, or a
    many-to-many relation of one changes (call from the owning app's ``ready()``)."""
    for model in models:
        uid = f"casebridge.facts.{model._meta.label}"
        post_save.connect(changed, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(changed, sender=model, dispatch_uid=f"{uid}.delete")
        for relation in model._meta.many_to_many:
            through = relation.remote_field.through
            m2m_changed.connect(changed, sender=through, dispatch_uid=f"{uid}.{relation.name}")
