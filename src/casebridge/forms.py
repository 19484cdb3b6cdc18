"""Helpers shared by the forms of every app."""

from django.core.exceptions import ValidationError
from django.forms import DateInput, DateTimeInput, Form
from django.utils import formats, timezone
from django.utils.translation import gettext as _


def apply_validation_error(form: Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- dates and times in the user's language (issue 18) ---------------------------------------
#
# A browser's own date picker writes and reads dates in the browser's locale, whatever the
# user chose in casebridge. These fields are text in the user's format instead (German
# 06.12.2026, English 2026-12-06), with that format shown; Django reads the user's formats
# and ISO 8601 alike.

_PARTS = {
    "%d": lambda: _("DD"),
    "%m": lambda: _("MM"),
    "%Y": lambda: _("YYYY"),
    "%y": lambda: _("YY"),
    "%H": lambda: _("hh"),
    "%M": lambda: _("mm"),
    "%S": lambda: _("ss"),
}


def format_hint(pattern: str) -> str:
    """A strftime pattern in words of the user's language: %d.%m.%Y → TT.MM.JJJJ."""
    hint = pattern
    for code, word in _PARTS.items():
        hint = hint.replace(code, str(word()))
    return hint


class LocalDateInput(DateInput):
    """A date as text in the user's format, the format shown as a placeholder."""

    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "size": 12, **(attrs or {})}, format=None)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        hint = format_hint(formats.get_format(self.format_key)[0])
        context["widget"]["attrs"].setdefault("placeholder", hint)
        return context


class LocalDateTimeInput(DateTimeInput):
    """A date and time as text in the user's format: minutes, or with ``seconds`` (the
    start of a call, for its duration)."""

    input_type = "text"

    def __init__(self, attrs=None, *, seconds: bool = False):
        super().__init__({"autocomplete": "off", "size": 20, **(attrs or {})}, format=None)
        self.seconds = seconds

    def _pattern(self) -> str:
        time = "%H:%M:%S" if self.seconds else "%H:%M"
        return f"{formats.get_format('DATE_INPUT_FORMATS')[0]} {time}"

    def format_value(self, value):
        if hasattr(value, "strftime"):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            return value.strftime(self._pattern())
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"].setdefault("placeholder", format_hint(self._pattern()))
        return context
