from rest_framework import generics, serializers

from accounts.api_auth import api_workspace
from accounts.tenancy import get_scoped_or_404
from messaging.models import Contact
from messaging.selectors import contacts_search


class ContactSerializer(serializers.ModelSerializer):
    phone = serializers.CharField(source="phone.as_e164", read_only=True)

    class Meta:
        model = Contact
        fields = ["uuid", "phone", "name", "metadata", "created_at", "updated_at"]


class ContactListView(generics.ListAPIView):
    serializer_class = ContactSerializer

    def get_queryset(self):
        return contacts_search(
            workspace=api_workspace(self.request), query=self.request.query_params.get("q", "")
        )


class ContactDetailView(generics.RetrieveAPIView):
    serializer_class = ContactSerializer

    def get_object(self):
        return get_scoped_or_404(Contact, api_workspace(self.request), uuid=self.kwargs["contact_uuid"])
