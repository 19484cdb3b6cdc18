"""The demo's and the test builders' personal data, collected from their source, for the
checks that no log line carries any of it (tests/conftest.py for a whole test run,
tests/robustness/test_observability.py for a real server with the demo data).

Collected, not typed: the demo users (first, last and full names), every full name the
demo's generator can make from its name lists, and every literal or f-string given as a
first or last name, an e-mail address, a phone number or a date of birth in
src/casebridge/ops/demo.py and tests/builders.py (an f-string becomes a pattern whose
placeholders match any token: ``+49 30 0000{n}`` finds every such number).
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from casebridge.ops import demo

SOURCES = [Path(demo.__file__), Path(__file__).with_name("builders.py")]
PERSONAL_KEYS = frozenset(
    {"first_name", "last_name", "email", "phone", "caller_phone", "date_of_birth"}
)
PLACEHOLDER = r"[\w.+-]+"


def _pattern_of(node: ast.AST) -> tuple[set[str], set[str]]:
    """Literals and patterns for the strings a value expression can give (through
    ``x if c else y``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return ({node.value} if len(node.value.strip()) >= 3 else set()), set()
    if isinstance(node, ast.JoinedStr):
        parts, fixed = [], []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(re.escape(part.value))
                fixed.append(part.value)
            else:
                parts.append(PLACEHOLDER)
        # the longest fixed part is looked for first; an f-string of placeholders only
        # ("{first} {last}") would match any two words
        anchor = max(fixed, key=len, default="")
        return set(), ({(anchor, r"(?<!\w)" + "".join(parts))} if len(anchor) >= 4 else set())
    if isinstance(node, ast.IfExp):
        body, orelse = _pattern_of(node.body), _pattern_of(node.orelse)
        return body[0] | orelse[0], body[1] | orelse[1]
    return set(), set()


def _from_source(path: Path) -> tuple[set[str], set[str]]:
    literals, patterns = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        values = []
        if isinstance(node, ast.keyword) and node.arg in PERSONAL_KEYS:
            values.append(node.value)
        elif isinstance(node, ast.Dict):
            values.extend(
                value
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value in PERSONAL_KEYS
            )
        for value in values:
            more_literals, more_patterns = _pattern_of(value)
            literals |= more_literals
            patterns |= more_patterns
    return literals, patterns


@lru_cache(maxsize=1)
def personal_data() -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """The demo's and the builders' personal data: literal texts, and (fixed part,
    regular expression) of each f-string."""
    literals, patterns = set(), set()
    for user in demo.DEMO_USERS:
        literals |= {user.first_name, user.last_name, f"{user.first_name} {user.last_name}"}
    literals |= {f"{first} {last}" for first in demo.FIRST_NAMES for last in demo.LAST_NAMES}
    for path in SOURCES:
        more_literals, more_patterns = _from_source(path)
        literals |= more_literals
        patterns |= more_patterns
    return tuple(sorted(literals)), tuple(sorted(patterns))


def lines_with_personal_data(text: str) -> list[str]:
    """The lines of ``text`` that hold any of it. Fast when there is none: a substring
    search per literal and per f-string's fixed part; a regular expression (whole words)
    only of those found, and only then line by line."""
    literals, patterns = personal_data()
    candidates = [
        r"(?<!\w)" + re.escape(literal) + r"(?!\w)" for literal in literals if literal in text
    ] + [pattern for anchor, pattern in patterns if anchor in text]
    if not candidates:
        return []
    found = re.compile("|".join(candidates))
    return [line for line in text.splitlines() if found.search(line)]
