"""Every API refusal has one body, `{"error": {"code", "message", "field"}}`, whoever raised
it (DRF, Django's 404, a domain service), and the schema declares it for every operation."""

import pytest
from django.test import Client

from tests.conftest import api_client_for
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "field"} <= set(body["error"])
    assert body["error"]["message"]
    return body["error"]


def test_it_answers_a_missing_key_with_the_error_body(db):
    response = Client().get("/api/v1/contacts")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert error_of(response)["code"] == "not_authenticated"


def test_it_lists_every_problem_of_a_validation_error(alice_api):
    response = alice_api.post("/api/v1/webhooks", {"url": "not a url", "events": ["no.such.event"]})

    assert response.status_code == 400
    error = error_of(response)
    assert {d["field"] for d in error["details"]} == {"url", "events.0"}
    assert (error["field"], error["code"]) == ("url", "invalid")


def test_it_names_the_field_a_service_refused(alice_api):
    response = alice_api.post("/api/v1/messages", {"to": "not a phone", "body": "hi"})

    assert response.status_code == 400
    assert error_of(response)["field"] == "to"


def test_it_refuses_unknown_fields_by_name(alice_api, workspace_a):
    WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+12015550100", is_primary=True
    )

    response = alice_api.post("/api/v1/messages", {"to": "+12015550199", "body": "hi", "is_admin": True})

    assert response.status_code == 400
    error = error_of(response)
    assert (error["field"], error["code"]) == ("is_admin", "unknown_field")
    assert "body" in error["message"] and "to" in error["message"]


def test_it_answers_an_unknown_id_with_the_error_body(alice_api):
    response = alice_api.get("/api/v1/contacts/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_answers_malformed_json_with_the_error_body(alice_api):
    response = alice_api.generic("POST", "/api/v1/webhooks", b'{"url": ', content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_it_refuses_a_body_over_the_limit(alice_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = b'{"url": "https://a.example/", "events": [' + b'"message.sent",' * 100 + b'"message.sent"]}'

    response = alice_api.generic("POST", "/api/v1/webhooks", body, content_type="application/json")

    assert response.status_code == 413
    assert error_of(response)["code"] == "request_too_large"


def test_it_refuses_nul_in_query_parameters_everywhere(alice_api, alice_client):
    api = alice_api.get("/api/v1/contacts", {"q": "a\x00b"})
    ui = alice_client.get("/contacts/", {"q": "a\x00b"})

    assert api.status_code == 400 and error_of(api)["field"] == "q"
    assert ui.status_code == 400


def test_it_declares_the_error_body_on_every_operation(alice, workspace_a):
    schema = api_client_for(workspace_a, alice).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    error_ref = "#/components/schemas/Error"

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "429"):
                assert responses[status]["content"]["application/json"]["schema"]["$ref"] == error_ref
            if "{" in path:
                assert "404" in responses, f"{method.upper()} {path}"
            if method in ("post", "patch"):
                assert {"400", "413", "415"} <= set(responses), f"{method.upper()} {path}"
    assert set(schema["components"]["schemas"]["Error"]["properties"]) == {"error"}


def test_it_answers_an_id_no_route_accepts_with_the_error_body(alice_api, client):
    api = alice_api.get("/api/v1/campaigns/not-a-uuid")
    ui = client.get("/campaigns/not-a-uuid/")

    assert api.status_code == 404 and error_of(api)["code"] == "not_found"
    assert ui.status_code == 404 and ui["Content-Type"].startswith("text/html")


def test_it_answers_a_mangled_cursor_as_bad_input(alice_api):
    response = alice_api.get("/api/v1/sessions", {"cursor": "garbage"})

    assert response.status_code == 400
    assert error_of(response)["field"] == "cursor"
