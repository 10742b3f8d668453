from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class BadCursorIsInvalidInput:
    """A cursor the client mangled is bad input naming `cursor` (400), not a missing page
    (DRF answers 404, which reads as "this collection does not exist")."""

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise serializers.ValidationError(
                {self.cursor_query_param: "Invalid cursor: pass back the `next` or `previous` link as given."}
            ) from None


class NewestFirstCursorPagination(BadCursorIsInvalidInput, CursorPagination):
    """Cursor pagination is stable under inserts (offsets skip or repeat rows when new
    messages arrive between pages); every paginated model has `created_at`."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
