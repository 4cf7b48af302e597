"""Tracking tokens: the signed payload a serve hands out for its impression and click, and reading one back.

The same tokens django.core.signing makes with salt TRACKING_SALT, written out for speed."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
import zlib

from django.conf import settings
from django.core import signing

TRACKING_SALT = "campaigns.tracking"
# What json.dumps(payload, separators=(",", ":")) uses, built once: json.dumps builds one per call.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode


@functools.lru_cache(maxsize=8)
def _tracking_keys(secret: str, fallbacks: tuple[str, ...]) -> tuple[bytes, ...]:
    # django.core.signing's HMAC key for TRACKING_SALT (salted_hmac), derived once rather than per token.
    return tuple(hashlib.sha256(f"{TRACKING_SALT}signer{key}".encode()).digest() for key in (secret, *fallbacks))


def _tracking_signature(value: str, key: bytes) -> str:
    return signing.b64_encode(hmac.digest(key, value.encode(), "sha256")).decode()


def tracking_token(payload: dict) -> str:
    """Sign a tracking payload: the same token `signing.dumps(payload, salt=TRACKING_SALT)` makes.

    Written out because serving makes two per request and ingestion reads one per event:
    django.core.signing builds a signer and derives its key on every call, a large share of
    either. Kept in its format, so tokens from either path verify on the other.
    """
    return tracking_tokens([payload])[0]


def tracking_tokens(payloads: list[dict]) -> list[str]:
    """`tracking_token(payload)` of each payload, signed at one time: a serve's tokens, sharing the
    timestamp and key rather than each reading them."""
    signed_at = signing.b62_encode(int(time.time()))
    key = _tracking_keys(settings.SECRET_KEY, ())[0]
    tokens = []
    for payload in payloads:
        value = f"{signing.b64_encode(_compact_json(payload).encode()).decode()}:{signed_at}"
        tokens.append(f"{value}:{_tracking_signature(value, key)}")
    return tokens


def tracking_token_payload(token: str, *, max_age: int) -> dict:
    """What a tracking token says, as `signing.loads(token, salt=TRACKING_SALT, max_age=max_age)` reads it.

    Raises signing.BadSignature for a forged, edited or malformed token (one signed with a key of
    SECRET_KEY_FALLBACKS is valid) and signing.SignatureExpired past `max_age` seconds.
    """
    return tracking_token_open(token, max_age=max_age)[0]


def tracking_token_open(token: str, *, max_age: int) -> tuple[dict, int]:
    """What a tracking token says and when it was signed (unix seconds): the serve's time, which
    bounds when its events can have happened. Raises as `tracking_token_payload` does."""
    value, _, signature = token.rpartition(":")
    keys = _tracking_keys(settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    if not value or not any(
        hmac.compare_digest(signature.encode(), _tracking_signature(value, key).encode()) for key in keys
    ):
        raise signing.BadSignature("The tracking token's signature does not match.")
    data, _, timestamp = value.rpartition(":")
    try:
        signed_at = signing.b62_decode(timestamp)
        raw = signing.b64_decode(data.removeprefix(".").encode())
        payload = json.loads(zlib.decompress(raw) if data.startswith(".") else raw)
    except (ValueError, IndexError, zlib.error) as exc:  # signed, so ours: only a key reused for other data
        raise signing.BadSignature("The tracking token is malformed.") from exc
    age = time.time() - signed_at
    if age > max_age:
        raise signing.SignatureExpired(f"Signature age {age} > {max_age} seconds")
    if not isinstance(payload, dict):
        raise signing.BadSignature("The tracking token is malformed.")
    return payload, signed_at
