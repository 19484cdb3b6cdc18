"""Helpers shared by the forms of every app."""

from django.core.exceptions import ValidationError
from django.forms import Form


def apply_validation_error(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
