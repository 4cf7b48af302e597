"""One error contract for the whole API.

Services raise `ApplicationError` subclasses with a machine-readable `code`; the DRF
exception handler below turns them, and DRF's own errors, into
`{"message", "code", "extra"}` with the right status. Plain Django views answer with
`error_response(exc)`, the same body.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

API_PREFIX = "/api/"


class ApplicationError(Exception):
    """A domain error a person or a program can act on."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra or {}


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PayloadTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def full_clean_or_raise(row, *, exclude: list[str], error: type[ApplicationError], label: str, code: str) -> None:
    """`row.full_clean(exclude=exclude)`, its field errors raised as `error` (every field's messages
    in `extra["fields"]`, the message prefixed with `label`): a service checks a row this way
    before it writes a file, so a refused row never leaves one in storage."""
    try:
        row.full_clean(exclude=exclude)
    except DjangoValidationError as exc:
        raise error(
            f"{label}: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            code=code,
            extra={"fields": exc.message_dict},
        ) from exc


def error_response(exc: ApplicationError, *, status: int | None = None) -> JsonResponse:
    """The error contract's body for a plain Django view, with the error's status unless one is given."""
    body = {"message": exc.message, "code": exc.code, "extra": exc.extra}
    return JsonResponse(body, status=status or exc.status_code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = {"message": exc.message, "code": exc.code, "extra": exc.extra}
        return Response(body, status=exc.status_code)
    if isinstance(exc, ProtectedError | RestrictedError):
        # A delete refused by on_delete=PROTECT/RESTRICT: the object is still in use, not a server error.
        blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        users = sorted({str(obj._meta.verbose_name_plural) for obj in blocking})
        message = f"Still in use by {', '.join(users)}: remove those first."
        return Response({"message": message, "code": "in_use", "extra": {"used_by": users}}, status=409)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {"message": "Validation failed.", "code": "invalid", "extra": {"fields": response.data}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        body = {"message": str(detail), "code": code, "extra": {}}
    response.data = body
    return response


def not_found(request, exception=None):
    """handler404: a path under /api/ that names no endpoint (e.g. /api/v1/jobs/abc) keeps the error contract."""
    if request.path.startswith(API_PREFIX):
        body = {"message": "No such endpoint or object.", "code": "not_found", "extra": {}}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception=None):
    """handler400: a request Django refuses before any view (a Host header it does not serve, a malformed
    body it cannot parse) keeps the error contract under /api/."""
    if request.path.startswith(API_PREFIX):
        body = {
            "message": "Bad request: refused before reaching an endpoint (a Host header this server does not "
            "serve, or a request it cannot read).",
            "code": "bad_request",
            "extra": {},
        }
        return JsonResponse(body, status=400)
    return defaults.bad_request(request, exception)


class ApiNotFoundMiddleware:
    """A path under /api/ that names no endpoint, or a request refused before any view, answers the error
    contract in DEBUG too.

    With DEBUG on, Django answers an unmatched URL with its technical 404 page and never calls handler404,
    and a disallowed Host header with its technical 400 page, not handler400; an API client (a generated
    one above all) would get HTML. DRF's own answers (a browsable page included) and anything already
    JSON are left alone. Placed before CommonMiddleware, it sees APPEND_SLASH's redirects as redirects,
    and the 400 CommonMiddleware's Host check turns into a page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code in (400, 404)
            and request.path.startswith(API_PREFIX)
            and not isinstance(response, Response)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return not_found(request) if response.status_code == 404 else bad_request(request)
        return response


def server_error(request):
    """handler500: an API client gets the error contract (and no page meant for a browser)."""
    if request.path.startswith(API_PREFIX):
        body = {"message": "Server error: the request was not completed.", "code": "server_error", "extra": {}}
        return JsonResponse(body, status=500)
    return defaults.server_error(request)
