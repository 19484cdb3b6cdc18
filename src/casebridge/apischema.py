"""Shared pieces of the API's input schemas."""

from __future__ import annotations

from ninja import Schema
from pydantic import model_validator


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
