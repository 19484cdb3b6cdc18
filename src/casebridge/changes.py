"""Partial updates shared by the services: set only what differs, report what changed."""

from __future__ import annotations

from collections.abc import Iterable


def assign_changes(obj, values: dict, *, allowed: Iterable[str]) -> list[str]:
    """Set the attributes in ``values`` that differ on ``obj``; return their names.

    A name outside ``allowed`` is a programming error, not bad input: it raises
    ``ValueError`` so that a new form field cannot silently write a protected column.
    """
    unknown = set(values) - set(allowed)
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    return changed
