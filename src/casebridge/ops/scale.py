"""The realistic volume of issue 9 and its multiples: plain figures, importable before
Django is set up (the load test's report names them)."""

# the realistic volume at scale 1 (issue 9); a scale multiplies every figure
VOLUME = {"contacts": 100_000, "cases": 20_000, "entries": 500_000}


def scaled(scale: float) -> dict[str, int]:
    """Return the realistic volume times ``scale``."""
    return {name: round(count * scale) for name, count in VOLUME.items()}
