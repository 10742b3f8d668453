from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/<uuid:contact_uuid>/", views.ContactDetailView.as_view(), name="contact_detail"),
]
