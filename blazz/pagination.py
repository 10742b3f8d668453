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


def cursor_paginator(*ordering: str, page_size: int = 50, max_page_size: int = 200) -> type[CursorPagination]:
    """The one paginator of the API, for any ordering: cursors are stable under inserts
    (offsets skip or repeat rows when new messages arrive between pages), `page_size` picks
    the size up to `max_page_size`, and a mangled cursor is a 400 on `cursor`."""
    return type(
        "CursorPaginator",
        (BadCursorIsInvalidInput, CursorPagination),
        {
            "ordering": ordering,
            "page_size": page_size,
            "max_page_size": max_page_size,
            "page_size_query_param": "page_size",
        },
    )


# The default: every paginated model has `created_at`.
NewestFirstCursorPagination = cursor_paginator("-created_at", "-id")
