from django.urls import path

from messaging import views

app_name = "messaging"
urlpatterns = [
    path("inbox/", views.InboxView.as_view(), name="inbox"),
    path("inbox/<uuid:contact_uuid>/", views.ConversationView.as_view(), name="conversation"),
    path("inbox/<uuid:contact_uuid>/reply", views.ConversationReplyView.as_view(), name="conversation_reply"),
    path("inbox/<uuid:contact_uuid>/read", views.ConversationReadView.as_view(), name="conversation_read"),
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/<uuid:contact_uuid>/", views.ContactDetailView.as_view(), name="contact_detail"),
]
