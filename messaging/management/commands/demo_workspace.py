"""Creates (or refreshes) the demo workspace the run command prints a login for.
Safe to run on every start: it converges to the same state."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.models import Workspace
from accounts.services import membership_add, workspace_create
from messaging.services import contact_upsert

DEMO_CONTACTS = [
    ("+14155550101", "Ada Lovelace", {"city": "London"}),
    ("+14155550102", "Grace Hopper", {"city": "New York"}),
    ("+5511987650103", "Alan Turing", {"city": "São Paulo"}),
    ("+447911123456", "Katherine Johnson", {"city": "Hampton"}),
    ("+919876543210", "Ramanujan", {"city": "Chennai"}),
]


class Command(BaseCommand):
    help = "Create the demo workspace, its admin login and some contacts; print the login."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="demo@blazz.local")
        parser.add_argument("--password", default="blazz-demo-2026")

    def handle(self, *args, email: str, password: str, **options):
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=email, defaults={"email": email})
        # The demo admin is also staff so the same login opens /admin/.
        user.email, user.is_staff, user.is_superuser = email, True, True
        user.set_password(password)
        user.save()
        workspace = Workspace.objects.filter(slug="demo").first()
        if workspace is None:
            workspace = workspace_create(name="Demo", owner=user)
            Workspace.objects.filter(pk=workspace.pk).update(slug="demo")
            workspace.refresh_from_db()
        membership_add(workspace=workspace, user=user, role="owner")
        for phone, name, metadata in DEMO_CONTACTS:
            contact_upsert(workspace=workspace, phone=phone, name=name, metadata=metadata)
        self.stdout.write(f"demo login: {email} / {password}  (workspace '{workspace.name}', staff: yes)")
