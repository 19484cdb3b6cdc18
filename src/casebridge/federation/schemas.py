"""The published schemas of the federation protocol, for partners building their side.

``docs/federation-schemas/`` holds one JSON Schema file per schema of
``protocol.json_schemas()`` (the wire form, the envelope and each message type's body);
a test fails when they differ from the code. Write them anew with::

    python -m casebridge.federation.schemas docs/federation-schemas

The same schemas are in the API's OpenAPI document under ``components.schemas``, named
``Federation<Title>`` (``openapi_components``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from casebridge.federation import protocol

PREFIX = "Federation"
COMMAND = "python -m casebridge.federation.schemas docs/federation-schemas"


def files() -> dict[str, str]:
    """File name -> text of each published schema (sorted keys, indent 2, newline)."""
    return {
        f"{name.lower()}.json": json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False)
        + "\n"
        for name, schema in protocol.json_schemas().items()
    }


def write(directory: Path) -> list[Path]:
    """Write every schema file into ``directory``; remove files of schemas gone."""
    directory.mkdir(parents=True, exist_ok=True)
    texts = files()
    for stale in directory.glob("*.json"):
        if stale.name not in texts:
            stale.unlink()
    written = []
    for name, text in sorted(texts.items()):
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _rewrite_refs(value, names: dict[str, str]):
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str) and item.startswith("#/$defs/"):
                result[key] = "#/components/schemas/" + names[item.removeprefix("#/$defs/")]
            else:
                result[key] = _rewrite_refs(item, names)
        return result
    if isinstance(value, list):
        return [_rewrite_refs(item, names) for item in value]
    return value


def openapi_components() -> dict[str, dict]:
    """The schemas as OpenAPI components: ``Federation<Title>``, with the models nested
    under ``$defs`` lifted into components of their own and every reference pointing
    there."""
    components: dict[str, dict] = {}
    for schema in protocol.json_schemas().values():
        schema = dict(schema)
        defs = schema.pop("$defs", {})
        names = {name: PREFIX + name for name in defs}
        for name, definition in defs.items():
            lifted = _rewrite_refs(definition, names)
            if components.setdefault(names[name], lifted) != lifted:
                raise ValueError(f"two federation schemas define {name} differently")
        components[PREFIX + schema["title"]] = _rewrite_refs(schema, names)
    return components


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(f"usage: {COMMAND}", file=sys.stderr)
        return 2
    for path in write(Path(args[0])):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
