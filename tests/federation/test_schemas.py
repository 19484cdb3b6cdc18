"""The protocol's published schemas: the files in docs/federation-schemas/ are what the
code validates, and the OpenAPI document carries them with every reference resolving."""

from pathlib import Path

import pytest
from django.test import Client

from casebridge.federation import protocol, schemas

DOCS = Path(__file__).resolve().parents[2] / "docs" / "federation-schemas"


def test_the_published_schema_files_are_those_of_the_code():
    expected = schemas.files()
    assert set(expected) == {f"{name.lower()}.json" for name in protocol.json_schemas()}
    present = {path.name for path in DOCS.glob("*.json")}
    problems = [f"{name} is missing" for name in sorted(set(expected) - present)]
    problems += [f"{name} is no schema of the code" for name in sorted(present - set(expected))]
    problems += [
        f"{name} differs from the code"
        for name in sorted(set(expected) & present)
        if (DOCS / name).read_text(encoding="utf-8") != expected[name]
    ]
    assert not problems, (
        "docs/federation-schemas/: "
        + "; ".join(problems)
        + f". Write them anew with `{schemas.COMMAND}` and commit them."
    )


def test_the_script_writes_the_files(tmp_path):
    (tmp_path / "gone.json").write_text("{}")
    assert schemas.main([str(tmp_path)]) == 0
    assert {path.name for path in tmp_path.iterdir()} == set(schemas.files())
    assert schemas.main([]) == 2


def _refs(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _resolve(document: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


@pytest.mark.django_db
def test_the_openapi_document_carries_the_schemas_and_every_reference_resolves():
    document = Client().get("/api/v1/openapi.json").json()
    components = document["components"]["schemas"]
    for name in ("FederationWire", "FederationEnvelope", "FederationItem", "FederationIdentity"):
        assert name in components
    for model in protocol.BODIES.values():
        assert "Federation" + model.__name__ in components
    assert document["info"]["x-federation-inbox"]["path"] == "/federation/v1/messages"
    refs = set(_refs(document))
    assert "#/components/schemas/FederationIdentity" in refs
    assert not [ref for ref in refs if "$defs" in ref]
    for ref in refs:
        _resolve(document, ref)
    assert not [name for name, schema in components.items() if "$defs" in schema]
