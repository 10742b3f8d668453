from django.urls import path

from messaging import inbox_views, views

app_name = "messaging"
urlpatterns = [
    path("inbox/", inbox_views.TeamInboxView.as_view(), name="inbox"),
    path("inbox/settings", inbox_views.InboxSettingsAction.as_view(), name="inbox_settings"),
    path("inbox/c/<uuid:conversation_uuid>/", inbox_views.TeamInboxView.as_view(), name="inbox_conversation"),
    path(
        "inbox/c/<uuid:conversation_uuid>/reply",
        inbox_views.ConversationReplyAction.as_view(),
        name="inbox_reply",
    ),
    path(
        "inbox/c/<uuid:conversation_uuid>/assign",
        inbox_views.ConversationAssignAction.as_view(),
        name="inbox_assign",
    ),
    path(
        "inbox/c/<uuid:conversation_uuid>/status",
        inbox_views.ConversationStatusAction.as_view(),
        name="inbox_status",
    ),
    path(
        "inbox/c/<uuid:conversation_uuid>/unread",
        inbox_views.ConversationUnreadAction.as_view(),
        name="inbox_unread",
    ),
    path(
        "inbox/c/<uuid:conversation_uuid>/read",
        inbox_views.ConversationReadAction.as_view(),
        name="inbox_read",
    ),
    path(
        "inbox/c/<uuid:conversation_uuid>/note",
        inbox_views.ConversationNoteAction.as_view(),
        name="inbox_note",
    ),
    path(
        "inbox/c/<uuid:conversation_uuid>/quick-reply",
        inbox_views.QuickReplyTextView.as_view(),
        name="inbox_quick_reply",
    ),
    path("inbox/<uuid:contact_uuid>/", views.ConversationView.as_view(), name="conversation"),
    path("inbox/<uuid:contact_uuid>/reply", views.ConversationReplyView.as_view(), name="conversation_reply"),
    path("inbox/<uuid:contact_uuid>/read", views.ConversationReadView.as_view(), name="conversation_read"),
    path("contacts/", views.ContactListView.as_view(), name="contact_list"),
    path("contacts/export.csv", views.ContactExportView.as_view(), name="contact_export"),
    path("contacts/import/", views.ContactImportView.as_view(), name="contact_import_new"),
    path(
        "contacts/imports/<uuid:import_uuid>/", views.ContactImportDetailView.as_view(), name="contact_import"
    ),
    path("contacts/<uuid:contact_uuid>/delete/", views.ContactDeleteView.as_view(), name="contact_delete"),
    path("contacts/<uuid:contact_uuid>/", views.ContactDetailView.as_view(), name="contact_detail"),
]
