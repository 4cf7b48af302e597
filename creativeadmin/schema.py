"""The API's OpenAPI schema: drf-spectacular's, plus the error answers each operation can give.

drf-spectacular documents only the success of an operation. Every refusal of the API has one
shape (creativeadmin.errors: `{"message", "code", "extra"}`), so the statuses an operation can
refuse with follow from what the view is made of: a request body can be malformed (400) or of
an unsupported type (415); a path names an object that may not exist (404); an authenticator
that challenges answers 401, permissions 403; a bounded parser 413; throttles 429. An answer an
operation documents itself (`@extend_schema(responses=...)`) is kept as it is; `refusal()` documents a
domain refusal (its codes) that the view's make-up cannot show. Headers too: `Location` on a create's
201, `Retry-After` on a 429.
"""

from django.conf import settings
from django.db import models
from drf_spectacular import openapi
from drf_spectacular.plumbing import get_lib_doc_excludes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny, BasePermission

from .json_input import DepthLimitedModelSerializer


class ErrorSerializer(serializers.Serializer):
    """The API's error contract, as creativeadmin.errors.api_exception_handler renders it."""

    message = serializers.CharField(help_text="What went wrong, for a person.")
    code = serializers.CharField(help_text="What went wrong, for a program (e.g. `invalid`, `not_found`).")
    extra = serializers.DictField(help_text="Details, e.g. `fields`: the errors of each field of the body.")


ERRORS = {
    "400": "Invalid request: `extra.fields` names each bad field.",
    "401": "Missing or invalid credentials.",
    "403": "Not allowed to do this (for a session: a missing CSRF token).",
    "404": "No such object (or page).",
    "409": "Conflicts with the stored state.",
    "413": "The body is too large.",
    "415": "Unsupported content type.",
    "429": "Too many requests: retry later.",
}


def refusal(description: str) -> OpenApiResponse:
    """An error-contract answer of one operation, described with its codes (e.g. "`not_live`: ...")."""
    return OpenApiResponse(ErrorSerializer, description=description)


PAGING = ("page", "page_size")  # an unusable page is a 404; an unusable page size falls back to the default

LOCATION = {
    "Location": {
        "schema": {"type": "string", "format": "uri"},
        "required": True,
        "description": "The URL of the object made.",
    }
}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
    "description": "Any unique value (e.g. a UUID) to retry safely: the same key and request within 24 h "
    "answers the first success again without doing the work twice (`Idempotent-Replayed: true`).",
}
IDEMPOTENCY_ERRORS = {
    "409": "`idempotency_key_in_use`: a request with this Idempotency-Key is still running; retry later.",
    "422": "`idempotency_key_reused`: this Idempotency-Key was used with another request.",
}
REPLAYED = {"Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}, "description": "A replay."}}
RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer", "minimum": 0}, "description": "Seconds to wait before retrying."}
}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        error = {"application/json": {"schema": self.resolve_serializer(ErrorSerializer, "response").ref}}
        for status in self._error_statuses(operation):
            operation["responses"].setdefault(status, {"description": ERRORS[status], "content": error})
        responses = operation["responses"]
        if "201" in responses and getattr(self.view, "action", None) == "create":
            responses["201"].setdefault("headers", {}).update(LOCATION)
        if "429" in responses:
            responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
        if self._idempotent():
            self._document_idempotency(operation, error)
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # `allow_empty=False` refuses an empty list, but drf-spectacular maps only min_length to minItems.
        listed = isinstance(field, serializers.ListField | serializers.ListSerializer)
        if listed and not field.allow_empty and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        return schema

    def _idempotent(self) -> bool:
        """Whether the handler honours Idempotency-Key (accounts.api.idempotency marks it)."""
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        return getattr(handler, "idempotent", False)

    @staticmethod
    def _document_idempotency(operation: dict, error: dict) -> None:
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        responses = operation["responses"]
        for status, description in IDEMPOTENCY_ERRORS.items():
            if status in responses:
                responses[status]["description"] += f" Or {description}"
            else:
                responses[status] = {"description": description, "content": error}
        for status, response in responses.items():
            if status.startswith("2"):
                response.setdefault("headers", {}).update(REPLAYED)

    def _error_statuses(self, operation: dict) -> list[str]:
        view = self.view
        parameters = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        statuses = []
        if "requestBody" in operation or any(where == "query" and name not in PAGING for where, name in parameters):
            statuses.append("400")
        authenticators = view.get_authenticators()
        if authenticators and authenticators[0].authenticate_header(view.request):
            statuses.append("401")
        if not all(isinstance(permission, AllowAny) for permission in view.get_permissions()):
            statuses.append("403")
        if any(where == "path" for where, _ in parameters) or ("query", "page") in parameters:
            statuses.append("404")
        if self.method == "DELETE" and self._protected(view):
            statuses.append("409")
        if "requestBody" in operation:
            if any(hasattr(parser, "max_bytes") for parser in view.get_parsers()):
                statuses.append("413")
            statuses.append("415")
        if view.get_throttles():
            statuses.append("429")
        return statuses

    @staticmethod
    def _protected(view) -> bool:
        """Whether other rows can keep the view's objects from being deleted (answered 409 by errors.py)."""
        queryset = getattr(view, "queryset", None)
        related = queryset.model._meta.related_objects if queryset is not None else []
        return any(relation.on_delete in (models.PROTECT, models.RESTRICT) for relation in related)


def lib_doc_excludes() -> list[type]:
    """Base classes whose docstring never describes a subclass in the schema (SPECTACULAR GET_LIB_DOC_EXCLUDES):
    the house's serializer bases say how they work, not what an API model is."""
    return [*get_lib_doc_excludes(), DepthLimitedModelSerializer]


class ApiDocsPermission(BasePermission):
    """The schema and the docs: anyone when settings.API_DOCS_PUBLIC, else signed-in users."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_authenticated)
