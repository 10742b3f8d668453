from rest_framework.pagination import CursorPagination


class NewestFirstCursorPagination(CursorPagination):
    """Cursor pagination is stable under inserts (offsets skip or repeat rows when new
    messages arrive between pages); every paginated model has `created_at`."""

    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
