"""The API's pages: `?page=` and `?page_size=` (1 to PAGE_SIZE_MAX rows; larger is capped, not refused)."""

from rest_framework.pagination import PageNumberPagination

PAGE_SIZE_MAX = 500


class PageSizePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = PAGE_SIZE_MAX

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
                parameter["description"] = (
                    f"Rows per page, 1 to {self.max_page_size} (default {self.page_size}; a larger number is capped)."
                )
        return parameters
