"""Factories for every model, shared by all test modules."""

import itertools

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Membership, Workspace
from campaigns.models import Campaign, CampaignLog
from messaging.models import Chat, Contact, ContactSession, QuickReply, WebhookDelivery, WebhookEndpoint
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance

_phone_numbers = itertools.count(1000)


def next_phone() -> str:
    # Valid US numbers in the 201-555 exchange range phonenumbers accepts as valid.
    return f"+1201555{next(_phone_numbers) % 10000:04d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.SelfAttribute("username")
    password = factory.django.Password("correct horse battery staple")


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")
    slug = factory.Sequence(lambda n: f"workspace-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    workspace = factory.SubFactory(WorkspaceFactory)
    role = Membership.Role.OWNER


class WorkerInstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkerInstance

    name = factory.Sequence(lambda n: f"wa{n}")
    queue = factory.LazyAttribute(lambda o: f"wa.{o.name}")
    hostname = "localhost"
    capacity = 10
    last_heartbeat_at = factory.LazyFunction(timezone.now)


class WhatsAppSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WhatsAppSession

    workspace = factory.SubFactory(WorkspaceFactory)
    session_id = factory.Sequence(lambda n: f"sess-{n:06d}")
    status = WhatsAppSession.Status.STARTING


class SessionSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionSnapshot

    session = factory.SubFactory(WhatsAppSessionFactory)
    data = b"encrypted"
    size_bytes = 9
    sha256 = "0" * 64
    saved_at = factory.LazyFunction(timezone.now)


class SessionEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SessionEvent

    session = factory.SubFactory(WhatsAppSessionFactory)
    kind = SessionEvent.Kind.STATUS_CHANGE
    detail = factory.LazyFunction(lambda: {"from": "starting", "to": "qr_scanning"})


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    workspace = factory.SubFactory(WorkspaceFactory)
    phone = factory.LazyFunction(next_phone)
    name = factory.Sequence(lambda n: f"Contact {n}")


class ChatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chat

    workspace = factory.SubFactory(WorkspaceFactory)
    whatsapp_session = factory.SubFactory(
        WhatsAppSessionFactory, workspace=factory.SelfAttribute("..workspace")
    )
    contact = factory.SubFactory(ContactFactory, workspace=factory.SelfAttribute("..workspace"))
    direction = Chat.Direction.INBOUND
    body = "hello"


class ContactSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactSession

    contact = factory.SubFactory(ContactFactory)
    whatsapp_session = factory.SubFactory(
        WhatsAppSessionFactory, workspace=factory.SelfAttribute("..contact.workspace")
    )
    first_interaction_at = factory.LazyFunction(timezone.now)
    last_interaction_at = factory.LazyFunction(timezone.now)


class QuickReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuickReply

    workspace = factory.SubFactory(WorkspaceFactory)
    shortcut = factory.Sequence(lambda n: f"reply{n}")
    body = "Hello {{name|there}}"


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    workspace = factory.SubFactory(WorkspaceFactory)
    url = "https://example.com/hook"
    secret = "s3cret"
    events = factory.LazyFunction(lambda: ["message.received"])


class WebhookDeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event_type = "message.received"
    payload = factory.LazyFunction(dict)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    body = "Hi {{name}}"


class CampaignLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignLog

    campaign = factory.SubFactory(CampaignFactory)
    contact = factory.SubFactory(ContactFactory, workspace=factory.SelfAttribute("..campaign.workspace"))
