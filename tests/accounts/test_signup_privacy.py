"""Sign-up tells nobody which e-mails have an account: a taken and a free address get the same
answer, and only the mailbox learns the difference. The account exists once its owner follows
the e-mailed link with the password chosen at sign-up. Sign-ups are throttled per address."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import Membership, Workspace

pytestmark = pytest.mark.django_db
PASSWORD = "a long pass phrase"


def sign_up(client: Client, email: str, *, workspace_name: str = "Carol Co", **extra):
    return client.post(
        "/signup/", {"email": email, "password": PASSWORD, "workspace_name": workspace_name}, **extra
    )


def confirm_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/signup/confirm/[^/\s]+/)", message.body).group(1)


def test_it_answers_a_taken_and_a_free_email_the_same_way(alice):
    taken_client, free_client = Client(), Client()

    taken = sign_up(taken_client, "ALICE@example.com", workspace_name="X")
    free = sign_up(free_client, "carol@example.com", workspace_name="X")

    assert (
        (taken.status_code, taken["Location"])
        == (free.status_code, free["Location"])
        == (302, "/signup/sent/")
    )
    taken_page = taken_client.get(taken["Location"])
    free_page = free_client.get(free["Location"])
    assert taken_page.content == free_page.content
    assert "Check your e-mail" in free_page.content.decode()
    # Nothing was created for either yet, and alice's account is untouched.
    assert not Workspace.objects.filter(name="X").exists()
    assert not get_user_model().objects.filter(username="carol@example.com").exists()
    alice.refresh_from_db()
    assert alice.check_password("correct horse battery staple")


def test_it_tells_the_mailbox_what_happened(alice):
    sign_up(Client(), "alice@example.com")
    sign_up(Client(), "carol@example.com")

    by_address = {message.to[0]: message for message in mail.outbox}
    assert "already has one" in by_address["alice@example.com"].body
    assert "/login/" in by_address["alice@example.com"].body
    assert "/signup/confirm/" not in by_address["alice@example.com"].body
    assert by_address["carol@example.com"].subject == "Confirm your Blazz account"
    assert "/signup/confirm/" in by_address["carol@example.com"].body


def test_it_creates_the_account_from_the_link_with_the_sign_up_password(client):
    sign_up(client, "Carol@Example.com")
    link = confirm_path(mail.outbox[-1])

    assert "carol@example.com" in client.get(link).content.decode()
    response = client.post(link, {"password": PASSWORD})

    assert response.status_code == 302 and response["Location"] == "/"
    user = get_user_model().objects.get(username="carol@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == "owner" and membership.workspace.name == "Carol Co"
    assert client.get("/").context["current_workspace"] == membership.workspace
    assert user.check_password(PASSWORD)
    # The link works once.
    assert 'data-testid="signup-link-invalid"' in Client().get(link).content.decode()


def test_it_refuses_a_link_without_the_password_chosen_at_sign_up(client):
    # A stranger signs up with carol's address; carol follows the link she did not ask for.
    sign_up(Client(), "carol@example.com")
    link = confirm_path(mail.outbox[-1])

    response = client.post(link, {"password": "carol's own password"})

    assert response.status_code == 200
    assert "not the password chosen" in response.content.decode()
    assert not get_user_model().objects.filter(username="carol@example.com").exists()


def test_it_throttles_sign_ups_per_client_address(settings):
    settings.BLAZZ_SIGNUP_RATE = "5/h"
    client = Client()
    answers = [sign_up(client, f"user{n}@example.com").status_code for n in range(6)]

    assert answers == [302] * 5 + [429]
    refused = sign_up(client, "user7@example.com")
    assert refused.status_code == 429
    assert "Too many sign-ups" in refused.content.decode()
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert len(mail.outbox) == 5
    # Another address has its own budget.
    assert sign_up(Client(), "other@example.com", REMOTE_ADDR="203.0.113.9").status_code == 302
