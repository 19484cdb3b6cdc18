"""/health/ tells a load balancer that the application answers, and nothing else."""

import pytest


@pytest.mark.django_db
def test_health_answers_anyone_with_ok_and_reads_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/", secure=True)
    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    assert "sessionid" not in response.cookies


@pytest.mark.django_db
def test_health_takes_no_writes(client):
    assert client.post("/health/", secure=True).status_code == 405
