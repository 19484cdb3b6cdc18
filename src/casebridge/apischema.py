"""Shared pieces of the API's input schemas."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from enum import Enum
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

from django.conf import settings
from django.utils import timezone
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000_000


class Error(Schema):
    """Every error answer: a message, and per field its messages (422)."""

    detail: str
    fields: dict[str, list[str]] = {}


def contains_nul(value) -> bool:
    """NUL characters cannot be stored (PostgreSQL refuses them) and have no use in a text."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False


def _choices_of(annotation) -> type[Enum] | None:
    """The enumeration a field takes (also when it may be None), or None."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return annotation
    if get_origin(annotation) in (Union, UnionType):
        found = [_choices_of(arg) for arg in get_args(annotation) if arg is not type(None)]
        return found[0] if len(found) == 1 else None
    return None


class Input(Schema):
    """Every API input schema: a JSON object whose values keep their JSON types.

    Strict (pydantic's ``strict``): no number read as a truth value or a date, no float as
    an integer, no text as a number. Dates and instants are ISO 8601 texts (``Day``,
    ``Instant``), choices their values as texts. Anything but an object — a list, a text,
    ``null`` — is refused (ninja would otherwise read it as "all defaults"), and so are
    texts with NUL characters; each error names its field.
    """

    model_config = ConfigDict(strict=True)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data):
        if isinstance(getattr(data, "_obj", data), dict):  # ninja may wrap it (DjangoGetter)
            return data
        raise PydanticCustomError("object", "Must be a JSON object.")

    @field_validator("*", mode="before")
    @classmethod
    def _checked(cls, value, info):
        if contains_nul(value):
            raise ValueError("must not contain NUL characters")
        choices = _choices_of(cls.model_fields[info.field_name].annotation)
        if choices is not None and isinstance(value, str):
            # A choice arrives as its value; strict mode would want the Python member.
            try:
                return choices(value)
            except ValueError:
                options = ", ".join(repr(member.value) for member in choices)
                raise ValueError(f"must be one of {options}") from None
        return value


def _to_utc(value: datetime) -> datetime:
    """Aware instants in UTC; naive ones are read in the current time zone. PostgreSQL refuses
    offsets beyond ±15:59 that ISO 8601 (and pydantic) allow."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(UTC)


DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# A date, "T" or a space, and a time: pydantic alone would also read a number of seconds
# since 1970 ("0.5") or a bare date as an instant.
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", re.IGNORECASE)


def _iso(pattern: re.Pattern, kind: type, example: str):
    def parse(value):
        if isinstance(value, kind):
            return value
        if isinstance(value, str) and pattern.fullmatch(value):
            return value  # for pydantic to parse (the type is not strict: it takes texts)
        raise PydanticCustomError(f"{kind.__name__}_format", f"Must be a text like {example}.")

    return BeforeValidator(parse)


# A calendar day in an input, body or query: "2026-01-31", nothing else.
Day = Annotated[date, Strict(False), _iso(DAY, date, "2026-01-31")]
# A point in time in an input: "2026-01-31T14:30:00+01:00" (or Z, or naive: local time),
# validated, then normalised to UTC.
Instant = Annotated[
    datetime,
    Strict(False),
    _iso(INSTANT, datetime, "2026-01-31T14:30:00+01:00"),
    AfterValidator(_to_utc),
]


def _query_value(pattern: re.Pattern, kind: type, example: str):
    def parse(value):
        if isinstance(value, str) and pattern.fullmatch(value):
            return value
        if type(value) is kind:  # a default, or a value given in Python
            return value
        raise PydanticCustomError(f"{kind.__name__}_format", f"Must be {example}.")

    return BeforeValidator(parse)


# Query strings are texts: these take only the canonical text of the type.
QueryInt = Annotated[
    int, Strict(False), _query_value(re.compile(r"-?\d{1,18}"), int, "a whole number")
]
QueryFlag = Annotated[
    bool, Strict(False), _query_value(re.compile(r"true|false"), bool, "true or false")
]


class Pagination(LimitOffsetPagination):
    """limit/offset paging with a bounded offset: a huge one would overflow the database's
    integers and fail with a server error instead of a clear 422."""

    class Input(Schema):
        limit: QueryInt = Field(
            settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=MAX_PAGE_SIZE, description="page size"
        )
        offset: QueryInt = Field(0, ge=0, le=MAX_OFFSET, description="items to skip")
