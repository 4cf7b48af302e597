"""`Idempotency-Key` on the API's operations that make something (Stripe's semantics).

A person retrying a request after a timeout sends the same key: the first answer is given again, and the
work (a generation job, a campaign) is not done twice. Same key with another request: 422
`idempotency_key_reused`; while the first is still running: 409 `idempotency_key_in_use`. Only a success
(2xx) is kept, for 24 hours; a refusal gives the key back, so the corrected request may reuse it. Keys are
per user (a placement or an anonymous caller has none). A view that takes no body (no parsers, e.g. generate) is
the same request whatever body comes with it: an empty form is neither read nor refused 415. creativeadmin.schema
documents the header and these answers on every handler marked `idempotent`.
"""

import contextlib
import functools
import hashlib
import json
import re

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .. import services

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[!-~]{1,255}$"  # visible ASCII, e.g. a UUID


def idempotent(handler):
    """Wrap a DRF handler (`post`, `create`) so a request with an Idempotency-Key runs its work once."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return handler(view, request, *args, **kwargs)
        if not re.fullmatch(KEY_PATTERN, key):
            raise ValidationError({HEADER: ["1 to 255 visible ASCII characters, e.g. a UUID."]})
        # The operation and its object, not the path's spelling (a trailing slash or not is the same request).
        match = request.resolver_match
        # A view without parsers ignores any body; reading it here would refuse a form 415 that the view accepts.
        body = request.data if view.get_parsers() else None
        request_text = json.dumps(
            [request.method, match.view_name, match.kwargs, body], sort_keys=True, cls=DjangoJSONEncoder
        )
        claim, new = services.idempotency_claim(
            user=request.user, key=key, fingerprint=hashlib.sha256(request_text.encode()).hexdigest()
        )
        if not new:
            headers = {"Idempotent-Replayed": "true", **({"Location": claim.location} if claim.location else {})}
            return Response(claim.body, status=claim.status_code, headers=headers)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            # A failed transaction takes the claim with it; the release must not hide the error.
            with contextlib.suppress(DatabaseError):
                services.idempotency_release(claim=claim)
            raise
        if 200 <= response.status_code < 300:
            services.idempotency_record(
                claim=claim, status_code=response.status_code, body=response.data, location=response.get("Location", "")
            )
        else:
            services.idempotency_release(claim=claim)
        return response

    wrapper.idempotent = True
    return wrapper
