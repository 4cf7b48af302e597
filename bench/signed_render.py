"""Signed-URL rendering figures: p50 of a first render and of a cached hit (`GET /r/<token>.jpg`);
and the visual editor's live preview (a spec edit to its render, score and layer boxes) per shape.

Run: `python -m bench.signed_render`. Uses a throwaway SQLite database and media directory,
and Django's test client in process (no network), so it measures the view, the engine and
storage, not a web server.
"""

import os
import statistics
import tempfile
import time
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-render-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creativeadmin.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR / 'db.sqlite3'}"
os.environ["MEDIA_ROOT"] = str(WORKDIR / "media")
os.environ.pop("CELERY_BROKER_URL", None)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import django  # noqa: E402

django.setup()

import io  # noqa: E402
import json  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from campaigns.services import product_upsert, render_token_make  # noqa: E402
from synthesis.samples import product_photo  # noqa: E402
from templates_app.services import template_create  # noqa: E402

N = 20


def main() -> None:
    call_command("migrate", verbosity=0)
    spec = json.loads((Path(__file__).resolve().parents[1] / "synthesis/templates/single-hero.json").read_text())
    template = template_create(name="bench-hero", spec=spec)
    buf = io.BytesIO()
    product_photo((178, 34, 52), size=800).image.save(buf, format="JPEG", quality=90)
    product_upsert(sku="BENCH-1", title="羽绒服", price=Decimal("699"), image_data=buf.getvalue())
    client = Client()

    def token(i: int) -> str:
        return render_token_make(
            version=template.current_version,
            size=(1080, 1080),
            product_skus=["BENCH-1"],
            copy={"title": f"网易严选 冬季羽绒服 第{i}款", "price": "¥699"},
        )

    client.get(f"/r/{token(-1)}.jpg")  # first request of the process: imports, fonts
    first, hits = [], []
    for i in range(N):
        url = f"/r/{token(i)}.jpg"
        t0 = time.perf_counter()
        response = client.get(url)
        first.append(time.perf_counter() - t0)
        assert response["X-Render-Cache"] == "miss"
        t0 = time.perf_counter()
        response = client.get(url)
        hits.append(time.perf_counter() - t0)
        assert response["X-Render-Cache"] == "hit"
    p50_first, p50_hit = statistics.median(first) * 1000, statistics.median(hits) * 1000
    print("Signed-URL rendering, 1080x1080 (in-process client, local storage)")
    print(f"  first render p50 {p50_first:8.1f} ms   target <= 100 ms  {'PASS' if p50_first <= 100 else 'MISS'}")
    print(f"  cached hit   p50 {p50_hit:8.1f} ms   target <= 10 ms   {'PASS' if p50_hit <= 10 else 'MISS'}")
    print(f"  ratio first / hit: {p50_first / p50_hit:.0f}x")
    editor_preview(client, template, spec)


def editor_preview(client: Client, template, spec: dict) -> None:
    """What a designer waits for after each change in the editor (aim: about a second)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    designer = get_user_model().objects.create_user("bench-designer", is_staff=True)
    designer.groups.add(Group.objects.get(name="Designers"))
    client.force_login(designer)
    print("Visual editor preview (POST /templates/<pk>/editor/render: validate, render as designed, score)")
    for width, height in ((1080, 1080), (1080, 1920), (1920, 1080), (728, 90)):
        times = []
        for i in range(N // 2):
            edited = json.loads(json.dumps(spec))
            edited["canvas"]["safe_margin"] = 0.04 + i * 0.001  # a new spec each time, as after a drag
            body = json.dumps({"spec": edited, "width": width, "height": height, "products": 1})
            t0 = time.perf_counter()
            response = client.post(f"/templates/{template.pk}/editor/render", body, content_type="application/json")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content[:200]
        p50 = statistics.median(times) * 1000
        print(f"  {width}x{height:<5} p50 {p50:8.1f} ms   target <= 1000 ms  {'PASS' if p50 <= 1000 else 'MISS'}")


if __name__ == "__main__":
    main()
