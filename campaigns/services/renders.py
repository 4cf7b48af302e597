"""Signed render links (`GET /r/<token>.jpg`): a template version rendered with catalogue products and copy.

Here, not in templates_app, because the token names products by sku: templates_app renders the
product images it is handed and never looks products up (it sits below campaigns).
"""

import hashlib
import json

from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from synthesis import __version__ as engine_version
from templates_app.errors import PreviewRejected
from templates_app.models import TemplateVersion
from templates_app.services import template_preview

from ..selectors import product_list_by_skus

RENDER_TOKEN_SALT = "templates_app.render"


def render_token_make(
    *, version: TemplateVersion, size: tuple[int, int], product_skus: list[str], copy: dict, seed: int = 0
) -> str:
    """A signed token for `GET /r/<token>.jpg`: the server renders only what was signed here.

    Django's signing (HMAC-SHA256 with SECRET_KEY and a salt of its own) covers the template
    version, the size, the products and the copy, so an edited token is refused.
    """

    payload = {
        "v": version.pk,
        "s": [int(size[0]), int(size[1])],
        "p": list(product_skus),
        "c": {k: str(copy.get(k, "")) for k in ("title", "subtitle", "price", "badge") if copy.get(k)},
        "seed": int(seed),
    }
    return signing.dumps(payload, salt=RENDER_TOKEN_SALT, compress=True)


def render_by_token(*, token: str) -> tuple[bytes, bool]:
    """(JPEG bytes, served_from_storage) for a signed token; the first render is stored by content hash.

    Raises PreviewRejected (code bad_signature) for a forged or edited token.
    """

    try:
        payload = signing.loads(token, salt=RENDER_TOKEN_SALT)
    except signing.BadSignature as exc:
        raise PreviewRejected("This render link is not valid (bad signature).", code="bad_signature") from exc
    version = TemplateVersion.objects.filter(pk=payload["v"]).first()
    if version is None:
        raise PreviewRejected("The template version of this link no longer exists.", code="not_found")
    key_material = json.dumps({**payload, "engine": engine_version, "spec": version.spec}, sort_keys=True)
    name = f"renders/{hashlib.sha256(key_material.encode()).hexdigest()}.jpg"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            return fh.read(), True
    products = list(product_list_by_skus(skus=payload["p"]))
    if len(products) != len(payload["p"]):
        raise PreviewRejected("A product of this link no longer exists.", code="not_found")
    preview = template_preview(
        version=version,
        size=tuple(payload["s"]),
        product_images=[p.main_image.name for p in products],
        copy=payload["c"],
        seed=payload["seed"],
    )
    if not default_storage.exists(name):  # two first requests may race; the content is the same
        default_storage.save(name, ContentFile(preview["image"]))
    return preview["image"], False
