"""Tracking tokens are django.core.signing tokens: what serving signs, and what ingestion reads, is that format.

Tokens handed out before a deploy stay valid after it (and the other way round), a key in
SECRET_KEY_FALLBACKS still verifies, and anything edited, forged or too old is refused.
"""

import time

import pytest
from django.core import signing
from django.test import override_settings

from campaigns.serving import TRACKING_SALT, tracking_token, tracking_token_payload

PAYLOAD = {"c": 12, "p": 3, "s": "0123456789abcdef", "g": "新客", "e": "impression"}
DAY = 24 * 3600


def test_a_token_is_the_one_django_signing_makes_and_reads_both_ways():
    ours = tracking_token(PAYLOAD)
    djangos = signing.dumps(PAYLOAD, salt=TRACKING_SALT)

    assert ours == djangos or ours.rsplit(":", 2)[0] == djangos.rsplit(":", 2)[0]  # equal but for the second
    assert signing.loads(ours, salt=TRACKING_SALT, max_age=DAY) == PAYLOAD
    assert tracking_token_payload(djangos, max_age=DAY) == PAYLOAD


def test_a_compressed_django_token_is_read():
    payload = {**PAYLOAD, "g": "x" * 300}  # long enough for signing.dumps to compress it
    token = signing.dumps(payload, salt=TRACKING_SALT, compress=True)

    assert token.startswith(".")
    assert tracking_token_payload(token, max_age=DAY) == payload


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature edited
        lambda t: signing.b64_encode(b'{"c":13,"p":3,"s":"x","e":"click"}').decode() + t[t.index(":") :],  # payload
        lambda t: t.rsplit(":", 1)[0],  # no signature
        lambda t: "",
        lambda t: "::",
        lambda t: t + "é",  # not ASCII
        lambda t: signing.dumps(PAYLOAD, salt="another.salt"),
        lambda t: signing.dumps(PAYLOAD, salt=TRACKING_SALT, key="another-secret-key" * 3),
    ],
)
def test_an_edited_or_forged_token_is_refused(forge):
    with pytest.raises(signing.BadSignature):
        tracking_token_payload(forge(tracking_token(PAYLOAD)), max_age=DAY)


def test_a_token_older_than_max_age_has_expired(monkeypatch):
    token = tracking_token(PAYLOAD)
    later = time.time() + DAY + 5
    monkeypatch.setattr(time, "time", lambda: later)

    with pytest.raises(signing.SignatureExpired):
        tracking_token_payload(token, max_age=DAY)
    assert tracking_token_payload(token, max_age=2 * DAY) == PAYLOAD


def test_tokens_signed_with_a_rotated_out_key_verify_while_it_is_a_fallback():
    with override_settings(SECRET_KEY="old-" + "k" * 60):
        old = tracking_token(PAYLOAD)
    with override_settings(SECRET_KEY="new-" + "k" * 60, SECRET_KEY_FALLBACKS=["old-" + "k" * 60]):
        assert tracking_token_payload(old, max_age=DAY) == PAYLOAD
    with override_settings(SECRET_KEY="new-" + "k" * 60, SECRET_KEY_FALLBACKS=[]), pytest.raises(signing.BadSignature):
        tracking_token_payload(old, max_age=DAY)
