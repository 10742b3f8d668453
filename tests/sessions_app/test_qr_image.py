"""The QR code a number's page shows is rendered server-side (segno) as SVG for the page
and SVG/PNG for the API, only while the number waits for a scan, only to its workspace."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.qr import qr_png, qr_png_base64, qr_svg
from tests.factories import WhatsAppSessionFactory

# The shape of a real WhatsApp Web auth code: ref, public keys and secret, comma-separated.
CODE = "2@" + "Q" * 60 + ",Zm9vYmFyYmF6cXV4" * 4 + ",1"


def qr_url(session) -> str:
    return reverse("sessions_app:session_qr_svg", args=[session.uuid])


def test_it_renders_a_code_as_an_svg_document_and_a_png():
    svg = qr_svg(CODE)
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    # Scalable: the page's <img> decides the size, so long codes are never clipped.
    assert root.get("viewBox") and root.get("width") is None
    assert qr_png(CODE).startswith(b"\x89PNG\r\n\x1a\n")
    assert qr_png_base64(CODE).startswith("iVBORw0KGgo")
    with pytest.raises(ValueError):
        qr_svg("")


@pytest.mark.django_db
def test_it_serves_the_current_qr_as_uncached_svg(alice_client, workspace_a):
    session = WhatsAppSessionFactory(
        workspace=workspace_a,
        status="qr_scanning",
        qr_code=CODE,
        qr_expires_at=timezone.now() + timedelta(seconds=20),
    )

    response = alice_client.get(qr_url(session) + "?v=123")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "no-store"
    assert response.content.decode() == qr_svg(CODE)


@pytest.mark.django_db
def test_it_answers_404_for_another_workspaces_qr(alice_client, workspace_b):
    theirs = WhatsAppSessionFactory(workspace=workspace_b, status="qr_scanning", qr_code=CODE)

    response = alice_client.get(qr_url(theirs))

    assert response.status_code == 404
    assert b"<svg" not in response.content


@pytest.mark.django_db
def test_it_answers_404_when_the_number_is_not_waiting_for_a_scan(alice_client, workspace_a):
    # A leftover code of a connected number must never be shown: it would link another phone.
    connected = WhatsAppSessionFactory(workspace=workspace_a, status="connected", qr_code=CODE)
    starting = WhatsAppSessionFactory(workspace=workspace_a, status="starting")

    assert alice_client.get(qr_url(connected)).status_code == 404
    assert alice_client.get(qr_url(starting)).status_code == 404
