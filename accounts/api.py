from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import api_workspace
from accounts.models import Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["uuid", "name", "slug", "timezone", "created_at"]


class CurrentWorkspaceView(APIView):
    @extend_schema(responses=WorkspaceSerializer, summary="The workspace the API key belongs to")
    def get(self, request):
        return Response(WorkspaceSerializer(api_workspace(request)).data)
