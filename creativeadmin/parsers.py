"""A JSON parser with a byte limit of its own, for the endpoints that take large JSON bodies
(the event batch, the bulk product import), each setting its `max_bytes`.

An oversized body gets the API's 413 (PayloadTooLarge) and is read no further than the
limit. DRF's JSONParser reads the body through `request.body` instead, whose refusal past
DATA_UPLOAD_MAX_MEMORY_SIZE is a bare 400 outside the error contract. The nesting depth is
bounded as in every JSON the project reads (creativeadmin.json_input).
"""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from creativeadmin.errors import PayloadTooLarge
from creativeadmin.json_input import JSONTooDeep, json_depth_check, json_too_deep_error


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


class BoundedJSONParser(BaseParser):
    media_type = "application/json"
    renderer_class = JSONRenderer
    max_bytes = 4 * 1024 * 1024  # an endpoint sets its own

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_large()
        body = stream.read(self.max_bytes + 1)  # a body without a (truthful) length stops here too
        if len(body) > self.max_bytes:
            raise self._too_large()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"The body is not UTF-8: byte {exc.start} cannot be decoded.") from exc
        try:
            json_depth_check(text)
        except JSONTooDeep as exc:
            raise json_too_deep_error(exc) from exc
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}.") from exc

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The body is larger than {self.max_bytes} bytes.", extra={"max_bytes": self.max_bytes})
