"""Shared pieces of the API's input schemas."""

from __future__ import annotations

from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from pydantic import model_validator

MAX_PAGE_SIZE = 500
MAX_OFFSET = 10_000_000


class Error(Schema):
    """Every error answer: a message, and per field its messages (422)."""

    detail: str
    fields: dict[str, list[str]] = {}


class Body(Schema):
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
