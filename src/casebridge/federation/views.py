"""Pages of the federation (being written)."""

from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


overview = register = consult = handover = case_federation = _missing
