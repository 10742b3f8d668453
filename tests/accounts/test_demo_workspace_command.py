import pytest
from django.core.management import call_command

from accounts.models import Membership, Workspace
from messaging.models import Contact

pytestmark = pytest.mark.django_db


def test_it_creates_a_demo_login_that_can_log_in_and_is_idempotent(client, capsys):
    call_command("demo_workspace")
    call_command("demo_workspace")
    out = capsys.readouterr().out
    assert "demo@blazz.local / blazz-demo-2026" in out
    workspace = Workspace.objects.get(slug="demo")
    assert Membership.objects.filter(workspace=workspace, role="owner").count() == 1
    assert Contact.objects.filter(workspace=workspace).count() == 5
    assert client.login(username="demo@blazz.local", password="blazz-demo-2026")
    assert client.get("/admin/").status_code == 200
