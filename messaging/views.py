from django.views.generic import DetailView, ListView

from accounts.mixins import WorkspaceMemberMixin
from accounts.tenancy import get_scoped_or_404
from messaging.models import Contact
from messaging.selectors import contacts_search


class ContactListView(WorkspaceMemberMixin, ListView):
    template_name = "messaging/contact_list.html"
    context_object_name = "contacts"
    paginate_by = 50

    def get_queryset(self):
        return contacts_search(workspace=self.request.workspace, query=self.request.GET.get("q", ""))


class ContactDetailView(WorkspaceMemberMixin, DetailView):
    template_name = "messaging/contact_detail.html"
    context_object_name = "contact"

    def get_object(self, queryset=None):
        return get_scoped_or_404(Contact, self.request.workspace, uuid=self.kwargs["contact_uuid"])
