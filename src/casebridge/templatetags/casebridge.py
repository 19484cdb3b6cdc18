"""Template helpers: show the model's codes (categories, legal bases) by their labels."""

from django import template
from django.utils import formats
from django.utils.translation import get_language

from casebridge.cooperation_models.models import Term
from casebridge.forms import format_hint
from casebridge.labels import pick_label

register = template.Library()


@register.simple_tag(takes_context=True)
def term_labels(context, kind: str, codes) -> str:
    """`{% term_labels "legal_basis" obligation.legal_basis %}` → the labels, comma-separated."""
    cache = context.render_context.setdefault("casebridge_terms", {})
    key = (kind, get_language())
    if key not in cache:
        cache[key] = dict(Term.objects.filter(kind=kind).values_list("code", "labels"))
    labels = cache[key]
    if isinstance(codes, str):
        codes = [codes]
    return ", ".join(pick_label(labels.get(code, {}), fallback=code) for code in codes or [])


@register.simple_tag
def date_hint() -> str:
    """The user's date format in words (TT.MM.JJJJ), for a date typed as text."""
    return format_hint(formats.get_format("DATE_INPUT_FORMATS")[0])
