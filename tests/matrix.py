"""Helpers for the persona matrix tests: a readable table of endpoint × persona → status."""

from __future__ import annotations

import pytest


def matrix_params(matrix: str):
    """One pytest parameter per (method, path, persona, expected status) of the table."""
    lines = [line.split() for line in matrix.strip().splitlines()]
    personas = lines[0][1:]
    for method, path, *codes in lines[1:]:
        for persona, code in zip(personas, codes, strict=True):
            yield pytest.param(method, path, persona, int(code), id=f"{method} {path} {persona}")


def assert_matrix_covers(
    matrix: str,
    prefix: str,
    names: dict[str, str],
    *,
    besides: tuple[str, ...] = (),
    tag: str | None = None,
) -> None:
    """Every operation of the OpenAPI document under ``prefix`` (but not under one of
    ``besides``, which have tables of their own; only the app's own where ``tag`` names
    it, when another app adds operations under the same prefix) is a row of the table."""
    from casebridge.api import api

    schema = api.get_openapi_schema()
    operations = {
        (method.upper(), path.removeprefix(prefix) or "/")
        for path, item in schema["paths"].items()
        if path.startswith(prefix) and not path.startswith(besides)
        for method, operation in item.items()
        if tag is None or tag in operation.get("tags", ())
    }
    covered = set()
    for line in matrix.strip().splitlines()[1:]:
        method, path = line.split()[:2]
        for old, new in names.items():
            path = path.replace(old, new)
        covered.add((method, path if path == "/" else path.rstrip("/")))
    assert operations == covered
