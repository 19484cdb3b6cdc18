"""The statistics dashboard, its CSV export and the API, through HTTP."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.utils import translation

from casebridge.audit.models import AuditEvent
from casebridge.hotline.models import Contact
from casebridge.stats import indicators, selectors

pytestmark = pytest.mark.django_db

YEAR = date.today().year  # statistics are published per calendar year


def test_coordinator_dashboard_shows_every_indicator_as_chart_and_table(stats_data, personas):
    response = personas.client(personas.coordinator).get("/stats/", {"year": YEAR})
    assert response.status_code == 200
    html = response.content.decode()
    for indicator in indicators.INDICATORS:
        assert f'id="ind-{indicator.code}"' in html
    assert html.count('role="img"') == len(indicators.INDICATORS)
    assert html.count("<title id=") == len(indicators.INDICATORS)
    assert '<th scope="row">' in html and '<th scope="col">' in html
    assert "suppressed to protect people" in html
    assert "style=" not in html and "<script>" not in html


def test_small_counts_never_reach_the_page(stats_data, personas):
    client = personas.client(personas.coordinator)
    response = client.get("/stats/", {"year": YEAR, "state": "DE-HB"})
    board = response.context["board"]
    hidden = 0
    for item in board.indicators:
        for value in item.table.published().values():
            assert value == 0 or value >= board.k
        hidden += item.table.suppressed_count
    assert hidden > 0  # a small state over a short period has small cells to hide
    assert "•" in response.content.decode()


def test_csv_export_holds_the_same_protected_figures(stats_data, personas):
    client = personas.client(personas.coordinator)
    page = client.get("/stats/", {"year": YEAR, "state": "DE-HB"})
    response = client.get("/stats/", {"year": YEAR, "state": "DE-HB", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.content.decode())))
    assert lines[1] == ["indicator", "row", "column", "value", "status"]
    by_key = {(row[0], row[1], row[2]): row for row in lines[2:]}
    for item in page.context["board"].indicators:
        for label, line in zip(item.table.rows, item.table.cells, strict=True):
            for column, cell in zip(item.table.columns, line, strict=True):
                row = by_key[(item.code, label, column)]
                assert row[3] == ("" if cell.suppressed else str(cell.value))
                assert row[4] == cell.status
    for row in lines[2:]:
        if row[3] and row[4] == "published" and not row[1].startswith("median"):
            assert int(row[3]) == 0 or int(row[3]) >= 5
    assert AuditEvent.objects.filter(action="stats.export").exists()


def test_bad_filters_name_the_field_and_show_no_figures(personas):
    client = personas.client(personas.coordinator)
    response = client.get("/stats/", {"year": "1999"})
    assert response.status_code == 400
    assert response.context["board"] is None
    assert "Give a year between 2000 and" in response.content.decode()
    response = client.get("/stats/", {"year": "twenty"})
    assert response.status_code == 400 and response.context["board"] is None
    response = client.get("/stats/", {"state": "XX"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_partner_sees_its_own_organisation_and_cannot_pick_the_network(stats_data, personas):
    client = personas.client(personas.partner)
    response = client.get("/stats/")
    assert response.status_code == 200
    organisation = personas.partner.memberships.get().organisation
    assert response.context["board"].scope.organisation_id == organisation.pk
    assert client.get("/stats/", {"scope": "network"}).status_code == 400


@pytest.mark.parametrize("name", ["police", "outsider", "prison_expired"])
def test_others_get_no_statistics(personas, name):
    user = getattr(personas, name)
    assert personas.client(user).get("/stats/").status_code == 403
    assert personas.client(user).get("/api/v1/stats/indicators").status_code == 403


def test_the_navigation_offers_statistics_to_whom_may_see_them(personas):
    assert b'href="/stats/"' in personas.client(personas.coordinator).get("/").content
    assert b'href="/stats/"' not in personas.client(personas.police).get("/").content


def test_the_page_speaks_german(stats_data, personas):
    client = personas.client(personas.coordinator)
    with translation.override("de"):
        client.post("/i18n/language/", {"language": "de", "next": "/stats/"})
        response = client.get("/stats/", {"year": YEAR})
    assert response.status_code == 200
    assert '<html lang="de">' in response.content.decode()


def test_api_returns_the_same_tables_as_the_page(stats_data, personas):
    client = personas.client(personas.coordinator)
    page = client.get("/stats/", {"year": YEAR, "state": "DE-HB"}).context["board"]
    response = client.get("/api/v1/stats/indicators", {"year": YEAR, "state": "DE-HB"})
    assert response.status_code == 200
    body = response.json()
    assert body["k"] == page.k and body["state"] == "DE-HB"
    for item, published in zip(body["indicators"], page.indicators, strict=True):
        assert item["code"] == published.code
        assert [[c["value"] for c in line] for line in item["cells"]] == [
            [c.value for c in line] for line in published.table.cells
        ]
    one = client.get("/api/v1/stats/indicators/referral_funnel", {"year": YEAR})
    assert one.status_code == 200 and one.json()["code"] == "referral_funnel"


def test_api_errors_name_the_field(personas):
    client = personas.client(personas.coordinator)
    response = client.get("/api/v1/stats/indicators/nonsense")
    assert response.status_code == 422
    assert "indicator" in response.json()["fields"]
    response = client.get("/api/v1/stats/indicators", {"from": "2026-05-01", "to": "2026-01-01"})
    assert response.status_code == 422
    assert "from" in response.json()["fields"]
    # a month or a span of years is not a published period: it could be subtracted
    for period in (
        {"from": "2026-03-01", "to": "2026-03-31"},
        {"from": "2025-01-01", "to": "2026-12-31"},
        {"from": "2026-01-01"},
    ):
        response = client.get("/api/v1/stats/indicators", period)
        assert response.status_code == 422 and "from" in response.json()["fields"]
    response = client.get("/api/v1/stats/indicators", {"year": 1999})
    assert response.status_code == 422 and "year" in response.json()["fields"]
    response = client.get(
        "/api/v1/stats/indicators", {"year": 2025, "from": "2026-01-01", "to": "2026-12-31"}
    )
    assert response.status_code == 422 and "year" in response.json()["fields"]
    whole_year = {"from": "2025-01-01", "to": "2025-12-31"}
    response = client.get("/api/v1/stats/indicators", whole_year)
    assert response.status_code == 200 and response.json()["year"] == 2025
    response = client.get("/api/v1/stats/indicators", {"state": "XX"})
    assert response.status_code == 422 and "state" in response.json()["fields"]


def test_the_hotline_sees_hotline_figures_only(stats_data, personas):
    client = personas.client(personas.hotline)
    response = client.get("/stats/", {"year": YEAR})
    assert response.status_code == 200
    board = response.context["board"]
    assert board.scope.kind == "hotline"
    codes = [item.code for item in board.indicators]
    assert "contacts_by_channel" in codes and "referral_funnel" in codes
    assert "cases_by_phase" not in codes and "obligations_compliance" not in codes
    html = response.content.decode()
    assert "Hotline figures of" in html and 'id="ind-cases_by_phase"' not in html
    hotline = personas.hotline.memberships.get().organisation
    taken = Contact.objects.filter(
        organisation=hotline,
        started_at__gte=board.period.start,
        started_at__lt=board.period.end,
    ).count()
    channels = next(item for item in board.indicators if item.code == "contacts_by_channel")
    assert channels.table.total.value == taken > 0
    api = client.get("/api/v1/stats/indicators/cases_by_phase")
    assert api.status_code == 422 and "indicator" in api.json()["fields"]
    body = client.get("/api/v1/stats/indicators", {"year": YEAR}).json()
    assert [item["code"] for item in body["indicators"]] == codes


def test_a_partner_sees_the_figures_of_its_own_organisation(stats_data, personas):
    client = personas.client(personas.partner)
    response = client.get("/stats/", {"year": YEAR})
    board = response.context["board"]
    assert board.scope.kind == "partner"
    # every indicator but the network's partnership health (issue 20): coordinators' view
    own = [i.code for i in indicators.INDICATORS if i.group not in selectors.NETWORK_GROUPS]
    assert [item.code for item in board.indicators] == own
    assert "obligations_by_pair" not in own
    organisation = personas.partner.memberships.get().organisation
    assert f"Figures of {organisation.name}" in response.content.decode()


def test_the_coordinator_sees_the_whole_network(stats_data, personas):
    response = personas.client(personas.coordinator).get("/stats/", {"year": YEAR})
    assert response.context["board"].scope.kind == "network"
    assert "Figures of the whole network." in response.content.decode()


def test_the_overview_comes_first_and_the_rest_is_one_click_away(personas, stats_data):
    """Issue 18: a few figures at a glance per reader, every other one folded by group."""
    html = personas.client(personas.coordinator).get("/stats/").content.decode()
    glance, rest = html.split('id="more-heading"')
    for code in ("contacts_by_caller_category", "referral_funnel", "cases_by_phase"):
        assert f'id="ind-{code}"' in glance
    assert 'id="ind-disclosures_by_direction"' in rest and "<details" in rest
    assert 'id="ind-disclosures_by_direction"' not in glance
    assert 'font-size="15"' in html
