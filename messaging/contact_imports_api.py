"""Contact CSV imports for integrators (`/api/v1/contacts/imports…`): the same background
import as the Contacts page (parsed in the request, so a bad file is refused at once with the
reason; imported in batches; duplicates by phone left as they are), and its progress."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.api_auth import api_workspace
from accounts.tenancy import get_scoped_or_404, scoped
from blazz.api_errors import ErrorSerializer
from blazz.pagination import cursor_paginator
from messaging.api import MessagingErrorsMixin
from messaging.models import ContactImport
from messaging.services import ContactImportRefused, contact_import_create
from messaging.services.contact_imports import MAX_FILE_BYTES


class ContactImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="The file's line; null for a quota refusal.")
    phone = serializers.CharField()
    error = serializers.CharField()


class ContactImportSerializer(serializers.ModelSerializer):
    created = serializers.IntegerField(source="created_count", help_text="New contacts made.")
    existing = serializers.IntegerField(
        source="existing_count",
        help_text="Rows whose number was already a contact (or repeated): left as is.",
    )
    error_count = serializers.IntegerField(help_text="Rows refused.")
    errors = ContactImportErrorSerializer(many=True, help_text="The first 100 refused rows with the reason.")

    class Meta:
        model = ContactImport
        fields = [
            "uuid",
            "filename",
            "status",
            "total",
            "processed",
            "created",
            "existing",
            "error_count",
            "errors",
            "created_at",
            "completed_at",
        ]


class ContactImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV (UTF-8; `,` `;` or tab separated) with a header line: `phone` (required), "
        "`name`, `tags` (comma-separated) and any other column as a metadata key. At most "
        f"{MAX_FILE_BYTES // 1024 // 1024} MB and 100,000 rows."
    )


_IMPORT_UUID = OpenApiParameter("import_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)


@extend_schema_view(
    get=extend_schema(summary="List contact imports", responses={200: ContactImportSerializer(many=True)}),
    post=extend_schema(
        summary="Import contacts from a CSV file",
        description="The file is checked at once; its rows are then imported in the background. Poll the "
        "import (or watch the Contacts page) for progress and per-row errors.",
        request={"multipart/form-data": ContactImportUploadSerializer},
        responses={
            202: OpenApiResponse(
                ContactImportSerializer, description="Accepted: importing in the background."
            ),
            400: OpenApiResponse(
                ErrorSerializer, description="No file, not CSV, no `phone` column, too many rows."
            ),
            413: OpenApiResponse(ErrorSerializer, description="The upload is over the size limit."),
        },
    ),
)
class ContactImportListView(MessagingErrorsMixin, generics.ListAPIView):
    serializer_class = ContactImportSerializer
    pagination_class = cursor_paginator("id", page_size=50, max_page_size=100)
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        return scoped(ContactImport, api_workspace(self.request))

    def post(self, request, *args, **kwargs):
        body = ContactImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ContactImportRefused(
                f"The file is over {MAX_FILE_BYTES // 1024 // 1024} MB; split it.", field="file"
            )
        job = contact_import_create(
            workspace=api_workspace(request), data=upload.read(), filename=upload.name
        )
        return Response(ContactImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    get=extend_schema(
        summary="A contact import's progress",
        parameters=[_IMPORT_UUID],
        responses={
            200: ContactImportSerializer,
            404: OpenApiResponse(ErrorSerializer, description="Not found."),
        },
    )
)
class ContactImportDetailView(generics.RetrieveAPIView):
    serializer_class = ContactImportSerializer

    def get_object(self):
        return get_scoped_or_404(ContactImport, api_workspace(self.request), uuid=self.kwargs["import_uuid"])
