"""Shared pieces of the API's input schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from django.conf import settings
from django.utils import timezone
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, field_validator, model_validator

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


class Input(Schema):
    """Every API input schema: texts with NUL characters are refused, naming the field."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value):
        if contains_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class Body(Input):
    """A JSON object body. Schemas whose fields all have defaults would otherwise take
    ``null`` or a list as "all defaults"; the OpenAPI document promises an object."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data):
        if isinstance(getattr(data, "_obj", data), dict):  # ninja may wrap it (DjangoGetter)
            return data
        raise ValueError("the body must be a JSON object")


class Pagination(LimitOffsetPagination):
    """limit/offset paging with a bounded offset: a huge one would overflow the database's
    integers and fail with a server error instead of a clear 422."""

    class Input(Schema):
        limit: int = Field(
            settings.NINJA_PAGINATION_PER_PAGE, ge=1, le=MAX_PAGE_SIZE, description="page size"
        )
        offset: int = Field(0, ge=0, le=MAX_OFFSET, description="items to skip")


def _to_utc(value: datetime) -> datetime:
    """Aware instants in UTC; naive ones are read in the current time zone. PostgreSQL refuses
    offsets beyond ±15:59 that ISO 8601 (and pydantic) allow."""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.astimezone(UTC)


# A point in time in an input: validated, then normalised to UTC.
Instant = Annotated[datetime, AfterValidator(_to_utc)]
