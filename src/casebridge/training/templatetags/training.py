"""`{{ event.title|in_language }}`: a {de: …, en: …} text in the reader's language."""

from django import template

from casebridge.labels import pick_label

register = template.Library()


@register.filter
def in_language(texts) -> str:
    return pick_label(texts or {})


@register.filter
def get_item(mapping, key):
    return mapping.get(key, key)
