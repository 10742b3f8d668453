from django.db.models import Q, QuerySet

from accounts.models import Workspace
from accounts.tenancy import scoped
from messaging.models import Contact


def contacts_search(*, workspace: Workspace, query: str = "") -> QuerySet[Contact]:
    contacts = scoped(Contact, workspace)
    query = query.strip()
    if query:
        contacts = contacts.filter(Q(name__icontains=query) | Q(phone__icontains=query))
    return contacts.order_by("name", "phone")
