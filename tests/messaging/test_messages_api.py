"""`POST /api/v1/messages`: a message is stored pending and its send task reaches the
sending number's worker queue after commit; repeats with an Idempotency-Key send once;
invalid input is refused with a clear answer and stores nothing."""

import pytest

from messaging.models import Chat, Contact
from sessions_app.models import WhatsAppSession
from tests.factories import ContactFactory, ContactSessionFactory, WhatsAppSessionFactory
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

pytestmark = pytest.mark.django_db

TO = "+12015550199"


def connected_number(workspace, worker, phone: str, **extra) -> WhatsAppSession:
    session = WhatsAppSessionFactory(
        workspace=workspace, status="connected", phone_number=phone, assigned_worker=worker, **extra
    )
    fresh_route(session)
    return session


@pytest.fixture
def number(workspace_a, live_worker):  # noqa: F811
    return connected_number(workspace_a, live_worker, "+12015550101", is_primary=True)


def send(api, django_capture_on_commit_callbacks, data, **headers):
    with django_capture_on_commit_callbacks(execute=True):
        return api.post("/api/v1/messages", data, format="json", **headers)


def sends(broker, worker):  # noqa: F811
    return [t for t in broker.tasks(worker) if t.name == "sessions_app.tasks.session_send"]


def test_it_stores_a_pending_message_and_queues_its_send(
    alice_api,
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    response = send(alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "Hello"})

    assert response.status_code == 201, response.content
    data = response.json()
    chat = Chat.objects.get(uuid=data["uuid"])
    assert (chat.status, chat.direction, chat.body) == ("pending", "outbound", "Hello")
    assert chat.whatsapp_session == number
    assert data["status"] == "pending"
    assert data["contact"]["phone"] == TO
    assert data["session"] == {"uuid": str(number.uuid), "phone_number": "+12015550101"}
    assert [t.kwargs for t in sends(broker, live_worker)] == [{"session_pk": number.pk, "chat_pk": chat.pk}]


def test_it_sends_from_the_number_the_contact_last_talked_to(
    alice_api,
    workspace_a,
    number,
    live_worker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    other = connected_number(workspace_a, live_worker, "+12015550102")
    contact = ContactFactory(workspace=workspace_a, phone=TO)
    ContactSessionFactory(contact=contact, whatsapp_session=other)

    response = send(alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "Hi"})

    assert response.json()["session"]["uuid"] == str(other.uuid)


def test_it_sends_from_the_named_number(
    alice_api,
    workspace_a,
    number,
    live_worker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    other = connected_number(workspace_a, live_worker, "+12015550102")

    response = send(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "Hi", "session": str(other.uuid)}
    )

    assert response.status_code == 201
    assert Chat.objects.get().whatsapp_session == other


def test_it_returns_the_same_message_for_a_repeated_key(
    alice_api,
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    first = send(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "Once"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = send(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "Once"}, HTTP_IDEMPOTENCY_KEY="k-1"
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Chat.objects.count() == 1
    assert len(sends(broker, live_worker)) == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"to": "not a phone", "body": "Hi"}, "phone"),
        ({"to": "+1999", "body": "Hi"}, "phone"),
        ({"body": "Hi"}, "to"),
        ({"to": TO, "body": ""}, "body"),
        ({"to": TO, "body": "   "}, "body"),
        ({"to": TO}, "body"),
        ({"to": TO, "body": "a\x00b"}, "ull"),
        ({"to": TO, "body": "x" * 4097}, "limit"),
        ({"to": TO, "body": "Hi", "session": "not-a-uuid"}, "session"),
        ({"to": TO, "body": "Hi", "session": "6f1c3a0e-0000-4000-8000-000000000000"}, "session"),
    ],
)
def test_it_refuses_invalid_input_and_stores_nothing(
    alice_api,
    number,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
    data,
    field,
):
    response = send(alice_api, django_capture_on_commit_callbacks, data)

    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not Chat.objects.exists()
    assert not Contact.objects.exists()
    assert sends(broker, live_worker) == []


def test_it_refuses_a_malformed_idempotency_key(alice_api, number):
    response = alice_api.post(
        "/api/v1/messages", {"to": TO, "body": "Hi"}, format="json", HTTP_IDEMPOTENCY_KEY="k" * 201
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["message"]
    assert not Chat.objects.exists()


def test_it_refuses_another_workspaces_number(alice_api, number, workspace_b, live_worker):  # noqa: F811
    foreign = connected_number(workspace_b, live_worker, "+12015550150")

    response = alice_api.post(
        "/api/v1/messages", {"to": TO, "body": "Hi", "session": str(foreign.uuid)}, format="json"
    )

    assert response.status_code == 400
    assert not Chat.objects.exists()


def test_it_answers_409_when_the_named_number_is_not_connected(
    alice_api,
    workspace_a,
    number,
):
    stopped = WhatsAppSessionFactory(workspace=workspace_a, status="stopped", phone_number="+12015550103")

    response = alice_api.post(
        "/api/v1/messages", {"to": TO, "body": "Hi", "session": str(stopped.uuid)}, format="json"
    )

    assert response.status_code == 409
    assert "not connected" in response.json()["error"]["message"]
    assert not Chat.objects.exists()


def test_it_answers_409_when_no_number_is_connected(alice_api, workspace_a):
    WhatsAppSessionFactory(workspace=workspace_a, status="disconnected", phone_number="+12015550104")

    response = alice_api.post("/api/v1/messages", {"to": TO, "body": "Hi"}, format="json")

    assert response.status_code == 409
    assert "connect" in response.json()["error"]["message"]
    assert not Chat.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "Olá 👋🏽 — família 👨‍👩‍👧‍👦",
        "مرحبا بالعالم",  # RTL
        "שלום\u200f עולם",  # RTL with a right-to-left mark
        "  leading and trailing spaces, tabs\t and\nnew lines\r\n  ",
        "outside the BMP: \U0001d518\U0001d52b \U0002070e\U00020731 🇧🇷",
    ],
)
def test_it_round_trips_unicode_byte_exact(
    alice_api,
    number,
    django_capture_on_commit_callbacks,
    body,
):
    created = send(alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": body})
    fetched = alice_api.get(f"/api/v1/messages/{created.json()['uuid']}")

    assert created.status_code == 201
    assert created.json()["body"].encode() == body.encode()
    assert fetched.json()["body"].encode() == body.encode()
    assert Chat.objects.get().body.encode() == body.encode()


def test_a_number_whose_provider_has_no_transport_refuses_to_send(
    alice_api,
    workspace_a,
    live_worker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    # Meta's Cloud API is reserved: no transport is configured for it (BLAZZ_TRANSPORTS).
    meta = connected_number(workspace_a, live_worker, "+12015550177", provider_type="meta")

    response = send(
        alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "hi", "session": str(meta.uuid)}
    )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "session"
    assert not Chat.objects.exists()


def test_a_send_goes_through_the_transport_of_its_numbers_provider(
    alice_api, number, settings, monkeypatch, django_capture_on_commit_callbacks
):
    handed: list[tuple[int, int]] = []

    class Recorder:
        def send(self, *, session_pk: int, chat_pk: int) -> None:
            handed.append((session_pk, chat_pk))

    monkeypatch.setattr("messaging.transport._transport", lambda path: Recorder())

    response = send(alice_api, django_capture_on_commit_callbacks, {"to": TO, "body": "via the port"})

    assert response.status_code == 201
    assert handed == [(number.pk, Chat.objects.get().pk)]
