"""Background work of the federation, run by ``casebridge worker`` (ops)."""

from __future__ import annotations

import logging

from casebridge.federation import services
from casebridge.federation.models import Agreement

logger = logging.getLogger(__name__)


def deliver() -> dict[str, int]:
    """Send what waits in the outbox (each agreement in order; a partner that is down is
    tried again later, with growing pauses up to an hour)."""
    return services.deliver_pending()


def upkeep() -> None:
    """Once a round: empty message copies past their agreement's period, and bring the
    person-match digests up to date so that a partner's question is answered at once."""
    scrubbed = services.scrub_expired()
    digested = sum(
        services.refresh_digests(agreement) for agreement in Agreement.objects.filter(active=True)
    )
    if scrubbed or digested:
        logger.info("federation upkeep: %s copies emptied, %s cases digested", scrubbed, digested)
