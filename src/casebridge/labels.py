"""Labels in several languages, as the cooperation model gives them (foundation)."""

from __future__ import annotations

from django.utils.translation import get_language


def pick_label(labels: dict[str, str], *, fallback: str = "") -> str:
    """Return the label in the active language, else English, else any."""
    language = (get_language() or "en").split("-")[0]
    return labels.get(language) or labels.get("en") or next(iter(labels.values()), fallback)
