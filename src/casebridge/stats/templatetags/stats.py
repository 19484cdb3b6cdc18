"""A published value in a statistics table: the number, or the suppression mark."""

from __future__ import annotations

from django import template
from django.utils.formats import localize
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def stat_value(value) -> str:
    """Render a ``disclosure.Value``; a filter, not an include, since a dashboard has hundreds
    of cells and an include per cell was a tenth of the page's time."""
    if value.suppressed:
        return format_html(
            '<abbr title="{}" class="suppressed">•</abbr>', _("suppressed to protect people")
        )
    return format_html("{}", localize(value.value))
