"""The OpenAPI schema documents the API, and the interactive docs render."""

from __future__ import annotations

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_lists_ticket_paths(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = (
        response.json() if response["Content-Type"].endswith("json") else yaml.safe_load(response.content)
    )
    paths = schema["paths"]
    for path, methods in {
        "/api/tickets/": {"get", "post"},
        "/api/tickets/{number}/": {"get", "patch"},
        "/api/tickets/{number}/comments/": {"get", "post"},
        "/api/tickets/{number}/events/": {"get"},
        "/api/auth/token/": {"post"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    filters = {p["name"] for p in paths["/api/tickets/"]["get"]["parameters"]}
    assert {"mine", "unassigned", "status", "priority", "category", "search", "page"} <= filters
    status = next(p for p in paths["/api/tickets/"]["get"]["parameters"] if p["name"] == "status")
    assert "active" in status["schema"]["enum"]
    lookup = paths["/api/tickets/{number}/"]["get"]["parameters"][0]
    assert lookup["name"] == "number" and lookup["schema"]["type"] == "string"


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/tickets/{number}/comments/" in out.read_text()


@pytest.mark.django_db
def test_docs_render(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
