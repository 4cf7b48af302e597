"""JSON from clients, its nesting depth bounded before it is parsed.

`json.loads` recurses once per nested array or object, so 100,000 `[` exhaust the interpreter
(RecursionError: a 500), and a value a few hundred levels deep would still reach code that walks
it recursively. Every JSON the project reads from a client goes through `json_depth_check` first,
which counts the nesting without recursing: DRF's JSON parsers (`DepthLimitedJSONParser`, the API's
default, and creativeadmin.parsers.BoundedJSONParser), the editor's calls, spec files uploaded in the admin,
and JSON typed into form fields (`BoundedJSONFormField` in the admin; `BoundedJSONSerializerField`, which
`DepthLimitedModelSerializer` uses for JSON model fields, in the API's form-encoded bodies).
"""

import json
import re
from itertools import accumulate

from django import forms
from django.conf import settings
from django.db import models
from django.forms.fields import InvalidJSONInput, JSONString
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

# The deepest spec shipped is 5 levels, the editor's body 6; products, batches and pools 3-4.
JSON_MAX_DEPTH = 32

# An escaped character (an escaped quote ends no string), and a run of anything but brackets.
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JSONTooDeep(ValueError):
    """JSON nested deeper than the limit; refused before it is parsed."""

    def __init__(self, max_depth: int):
        super().__init__(f"The JSON is nested more than {max_depth} levels deep; the limit is {max_depth}.")
        self.max_depth = max_depth


def json_depth(text: str) -> int:
    """How deeply `text` nests arrays and objects (0 for a scalar): a few linear scans, no recursion.

    Brackets inside strings do not count: with the escapes removed, the text between the 1st and
    2nd quote, the 3rd and 4th... is inside strings. For text that is not JSON the count is what a
    parser would reach before it fails, or more, so refusing by it never lets a parser go deeper.
    """
    outside_strings = "".join(_ESCAPE.sub("", text).split('"')[::2])
    brackets = _NOT_BRACKET.sub("", outside_strings)
    return max(accumulate(map(_NESTING_STEP.__getitem__, brackets)), default=0)


def json_depth_check(text: str, *, max_depth: int = JSON_MAX_DEPTH) -> None:
    """Raise JSONTooDeep if `text` nests arrays and objects deeper than `max_depth`."""
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:  # most bodies: 2 scans
        raise JSONTooDeep(max_depth)


def json_loads_bounded(text: str | bytes, **kwargs):
    """json.loads after json_depth_check; bytes must be UTF-8. Raises ValueError (JSONTooDeep among them)."""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8")  # UnicodeDecodeError is a ValueError
    json_depth_check(text)
    return json.loads(text, **kwargs)


def json_too_deep_error(exc: JSONTooDeep):
    """The API's 400 for a body nested too deeply: an ApplicationError, code `json_too_deep`, the limit in extra."""
    # Imported here: DRF imports this module (DEFAULT_PARSER_CLASSES) while creativeadmin.errors imports DRF.
    from .errors import ApplicationError

    return ApplicationError(str(exc), code="json_too_deep", extra={"max_depth": exc.max_depth})


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSONParser (the API's default) with the nesting depth bounded: a 400 naming the limit."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = (stream.read() if stream is not None else b"").decode(encoding)
            json_depth_check(text)
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except JSONTooDeep as exc:
            raise json_too_deep_error(exc) from exc
        except ValueError as exc:  # UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from exc


class BoundedJSONFormField(forms.JSONField):
    """forms.JSONField whose text is depth-checked before it is parsed: a form error naming the limit."""

    def to_python(self, value):
        if isinstance(value, str) and not isinstance(value, JSONString) and not self.disabled:
            try:
                json_depth_check(value)
            except JSONTooDeep as exc:
                raise forms.ValidationError(str(exc), code="json_too_deep") from exc
        return super().to_python(value)

    def bound_data(self, data, initial):
        # forms.JSONField parses the text again to show it back in the form.
        if isinstance(data, str) and not self.disabled and json_depth(data) > JSON_MAX_DEPTH:
            return InvalidJSONInput(data)  # shown back as typed, like any text that is not JSON
        return super().bound_data(data, initial)


# For ModelAdmin.formfield_overrides: the admin's form fields for JSON model fields, depth-checked.
JSON_FORMFIELD_OVERRIDES = {models.JSONField: {"form_class": BoundedJSONFormField}}


class BoundedJSONSerializerField(serializers.JSONField):
    """DRF's JSONField, the text of a form-encoded body depth-checked before it is parsed."""

    def to_internal_value(self, data):
        if isinstance(data, str) and (self.binary or getattr(data, "is_json_string", False)):
            try:
                json_depth_check(data)
            except JSONTooDeep as exc:
                raise serializers.ValidationError(str(exc), code="json_too_deep") from exc
        return super().to_internal_value(data)


class DepthLimitedModelSerializer(serializers.ModelSerializer):
    """ModelSerializer whose JSON model fields are BoundedJSONSerializerFields: the API's writable serializers."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.JSONField: BoundedJSONSerializerField,
    }
