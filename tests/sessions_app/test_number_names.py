"""Numbers have a name the team gives them ("Sales", "Support", issue 19), set in the UI by
owners and admins and through the API, shown beside the phone; verbs appear only when they
apply (a stopped number offers no "Refresh QR", which would spend one of the hourly attempts)."""

import pytest
from django.urls import reverse

from sessions_app import services
from sessions_app.models import WhatsAppSession
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def number(workspace_a):
    return WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+12015550101")


def test_the_service_cleans_and_bounds_the_name(number):
    assert (
        services.session_rename(session=number, display_name="  Sales   team ").display_name == "Sales team"
    )
    for bad in ("x" * 81, "a\x00b", 42, None):
        with pytest.raises(services.InvalidSessionField):
            services.session_rename(session=number, display_name=bad)
    assert WhatsAppSession.objects.get(pk=number.pk).display_name == "Sales team"
    assert services.session_rename(session=number, display_name="").display_name == ""


def test_a_manager_names_a_number_in_the_ui_and_everyone_sees_it(alice_client, carol_client, number):
    answer = alice_client.post(
        reverse("sessions_app:session_rename", args=[number.uuid]), {"display_name": "Support"}
    )
    assert answer.status_code == 302
    assert "Support" in carol_client.get(reverse("sessions_app:session_list")).content.decode()
    assert (
        carol_client.post(
            reverse("sessions_app:session_rename", args=[number.uuid]), {"display_name": "Mine"}
        ).status_code
        == 403
    )
    assert WhatsAppSession.objects.get(pk=number.pk).display_name == "Support"


def test_the_api_names_a_number(alice_api, number):
    answer = alice_api.patch(f"/api/v1/sessions/{number.uuid}", {"display_name": "Sales"}, format="json")
    assert answer.status_code == 200 and answer.json()["display_name"] == "Sales"
    refused = alice_api.patch(f"/api/v1/sessions/{number.uuid}", {"display_name": "x" * 81}, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "display_name"


@pytest.mark.parametrize(
    ("status", "offers_refresh"), [("qr_scanning", True), ("stopped", False), ("connected", False)]
)
def test_refresh_qr_is_offered_only_while_a_qr_is_shown(alice_client, workspace_a, status, offers_refresh):
    number = WhatsAppSessionFactory(workspace=workspace_a, status=status)
    page = alice_client.get(reverse("sessions_app:session_detail", args=[number.uuid])).content.decode()
    assert (reverse("sessions_app:session_refresh_qr", args=[number.uuid]) in page) is offers_refresh
    assert "The <strong>primary</strong> number" in page
