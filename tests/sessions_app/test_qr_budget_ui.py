"""Adding numbers spends the workspace's hourly QR budget (F12); the page says how long
to wait instead of failing, and says it before the click too."""

import pytest
from django.urls import reverse

from sessions_app.models import WhatsAppSession

pytestmark = pytest.mark.django_db
ADD = reverse("sessions_app:session_add")


def test_it_refuses_the_sixth_qr_attempt_with_the_wait_time(alice_client, workspace_a, live_worker, settings):
    for _ in range(settings.BLAZZ_QR_ATTEMPTS_PER_HOUR):
        assert alice_client.post(ADD).status_code == 302

    response = alice_client.post(ADD, follow=True)

    assert response.redirect_chain == [(reverse("sessions_app:session_list"), 302)]
    html = response.content.decode()
    assert (
        '<p class="flash error">Too many QR attempts for this workspace in the last hour; '
        "try again in about 60 min.</p>" in html
    )
    assert "QR attempts this hour: 5 of 5; the next is possible in about 60 min" in html
    assert WhatsAppSession.objects.filter(workspace=workspace_a).count() == 5


def test_it_says_so_when_no_worker_can_take_the_number(alice_client, workspace_a):
    response = alice_client.post(ADD, follow=True)

    assert "No session worker has free capacity right now" in response.content.decode()
    assert not WhatsAppSession.objects.exists()
