from django.urls import path

from messaging import api

urlpatterns = [
    path("contacts", api.ContactListView.as_view(), name="api-contact-list"),
    path("contacts/<uuid:contact_uuid>", api.ContactDetailView.as_view(), name="api-contact-detail"),
]
