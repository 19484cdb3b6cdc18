"""The inbox partner installations post their messages to (``/federation/v1/messages``).

No session, no token: a message proves where it comes from by its signature, checked
against the public key of the agreement it names (``services.receive``). Every answer,
a refusal too, is a message signed by this installation.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from casebridge.federation import services


@csrf_exempt
@require_POST
def messages(request):
    try:
        status, answer = services.receive(request.body)
    except services.FederationKeyError:
        # without its key this installation can answer nothing it could stand behind
        return JsonResponse({"detail": "federation is not set up here"}, status=503)
    return HttpResponse(answer, status=status, content_type="application/json")
