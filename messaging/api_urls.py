from django.urls import path

from messaging import api, chats_api, contact_imports_api, conversations_api, media_api, media_send_api

urlpatterns = [
    path("messages", api.MessageListView.as_view(), name="api-message-list"),
    path("messages/<uuid:chat_uuid>", api.MessageDetailView.as_view(), name="api-message-detail"),
    path("media", media_send_api.MediaUploadView.as_view(), name="api-media-upload"),
    path("contacts", api.ContactListView.as_view(), name="api-contact-list"),
    path(
        "contacts/imports",
        contact_imports_api.ContactImportListView.as_view(),
        name="api-contact-import-list",
    ),
    path(
        "contacts/imports/<uuid:import_uuid>",
        contact_imports_api.ContactImportDetailView.as_view(),
        name="api-contact-import-detail",
    ),
    path("contacts/<uuid:contact_uuid>", api.ContactDetailView.as_view(), name="api-contact-detail"),
    path(
        "contacts/<uuid:contact_uuid>/sessions",
        api.ContactSessionsView.as_view(),
        name="api-contact-sessions",
    ),
    path("conversations", conversations_api.ConversationListView.as_view(), name="api-conversation-list"),
    path(
        "conversations/<uuid:conversation_uuid>",
        conversations_api.ConversationDetailView.as_view(),
        name="api-conversation-detail",
    ),
    path(
        "conversations/<uuid:conversation_uuid>/notes",
        conversations_api.ConversationNotesView.as_view(),
        name="api-conversation-notes",
    ),
    path("quick-replies", conversations_api.QuickReplyListView.as_view(), name="api-quick-reply-list"),
    path(
        "quick-replies/<uuid:quick_reply_uuid>",
        conversations_api.QuickReplyDetailView.as_view(),
        name="api-quick-reply-detail",
    ),
    path("media/<uuid:media_uuid>", media_api.MediaFileView.as_view(), name="api-media-detail"),
    path("chats", chats_api.ChatListView.as_view(), name="api-chat-list"),
    path("chats/<uuid:contact_uuid>/read", chats_api.ChatReadView.as_view(), name="api-chat-read"),
]
