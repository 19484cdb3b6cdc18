"""Key rotation: re-seal every protected value with the current key, in batches."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from casebridge.audit.services import audit_record
from casebridge.privacy import keys
from casebridge.privacy.fields import protected_fields


def rotation_plan() -> list[tuple[type, list[str]]]:
    """The models with protected columns, and those columns."""
    plan: dict[type, list[str]] = {}
    for model, name in protected_fields():
        plan.setdefault(model, []).append(name)
    return list(plan.items())


def keys_rotate(
    *, actor=None, batch_size: int = 500, progress: Callable[[int, int], None] | None = None
) -> int:
    """Re-encrypt every value not sealed with the current key; return how many rows changed.

    Reads the raw column to see the key id without decrypting rows already current.
    """
    current_id, _key = keys.key_ring().current
    plan = rotation_plan()
    total = sum(model._default_manager.count() for model, _names in plan)
    done = changed = 0
    for model, names in plan:
        last = 0
        while True:
            rows = list(
                model._default_manager.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", *names)[:batch_size]
            )
            if not rows:
                break
            with transaction.atomic():
                for pk, *raw in _raw_rows(model, [r[0] for r in rows], names):
                    stale = [
                        name
                        for name, value in zip(names, raw, strict=True)
                        if value
                        and (not keys.is_encrypted(value) or keys.key_id_of(value) != current_id)
                    ]
                    if stale:
                        obj = model._default_manager.only(*stale).get(pk=pk)
                        model._default_manager.filter(pk=pk).update(
                            **{n: getattr(obj, n) for n in stale}
                        )
                        changed += 1
            last = rows[-1][0]
            done += len(rows)
            if progress:
                progress(done, total)
    audit_record(
        actor=actor, action="privacy.keys.rotate", details={"key": current_id, "rows": changed}
    )
    return changed


def _raw_rows(model, pks: list, names: list[str]):
    """The stored (sealed) values, without the field's decryption."""
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    placeholders = ", ".join(["%s"] * len(pks))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk_column}, {columns} FROM {table} WHERE {pk_column} IN ({placeholders})",  # noqa: S608 - names quoted, values bound
            pks,
        )
        return cursor.fetchall()
