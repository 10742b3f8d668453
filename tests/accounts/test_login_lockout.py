"""Password guessing is stopped (django-axes): after BLAZZ_LOGIN_FAILURE_LIMIT failed logins
for one username from one IP address, even the right password is refused, on the site and in
the admin, with a page that says why and for how long; staff can unlock early."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def guess(client: Client, path: str, username: str, password: str, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def test_it_refuses_the_right_password_after_30_wrong_ones(client, alice, workspace_a):
    for n in range(30):
        wrong = guess(client, "/login/", alice.username, f"wrong-{n}")
        assert wrong.status_code in (200, 429)  # the form again, then the lockout page

    right = guess(client, "/login/", alice.username, PASSWORD)

    assert right.status_code == 429
    page = right.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page
    assert int(right["Retry-After"]) == 15 * 60
    assert client.get("/").status_code == 302  # still not logged in


def test_it_locks_the_admin_login_too(client):
    UserFactory(username="staff@example.com", is_staff=True, is_superuser=True)
    for n in range(5):
        guess(client, "/admin/login/", "staff@example.com", f"wrong-{n}")

    right = guess(client, "/admin/login/", "staff@example.com", PASSWORD)

    assert right.status_code == 429
    assert "Too many failed logins" in right.content.decode()
    assert client.get("/admin/").status_code == 302


def test_it_lets_a_user_in_below_the_limit(client, alice, workspace_a):
    for n in range(4):
        guess(client, "/login/", alice.username, f"wrong-{n}")

    assert guess(client, "/login/", alice.username, PASSWORD).status_code == 302


def test_it_locks_the_username_from_that_address_only(client, alice, workspace_a):
    for n in range(5):
        guess(client, "/login/", alice.username, f"wrong-{n}", REMOTE_ADDR="203.0.113.9")

    assert guess(client, "/login/", alice.username, PASSWORD, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert guess(Client(), "/login/", alice.username, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 302


def test_it_lets_the_user_in_again_after_the_cool_off(client, alice, workspace_a):
    for n in range(5):
        guess(client, "/login/", alice.username, f"wrong-{n}")
    assert guess(client, "/login/", alice.username, PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert guess(client, "/login/", alice.username, PASSWORD).status_code == 302


def test_it_lets_staff_unlock_a_user_in_the_admin(client, alice, workspace_a):
    for n in range(5):
        guess(client, "/login/", alice.username, f"wrong-{n}")
    staff = Client()
    staff.force_login(UserFactory(username="staff@example.com", is_staff=True, is_superuser=True))
    attempt = AccessAttempt.objects.get(username=alice.username)

    assert staff.get("/admin/axes/accessattempt/").status_code == 200
    staff.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert not AccessAttempt.objects.exists()
    assert guess(client, "/login/", alice.username, PASSWORD).status_code == 302


def test_it_keeps_the_test_clients_login_working(client, alice, workspace_a):
    assert client.login(username=alice.username, password=PASSWORD)
    assert client.get("/").status_code == 200
