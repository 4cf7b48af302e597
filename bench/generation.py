"""Campaign generation figures: 50 products x 6 templates x 4 palette variants, the top 3 per
product at 4 sizes, on the embedded default (tasks in-process) and on a real worker pool of
2 `celery worker` processes (PostgreSQL, Redis). Prints the job's wall time, candidates
scored per second and creatives stored per second.

Run: `python -m bench.generation` (the worker-pool half needs PostgreSQL on 127.0.0.1:5432
and Redis on 127.0.0.1:6379; it is skipped with a note when they do not answer).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = 50
SIZES = [[1080, 1080], [1200, 628], [300, 250], [1080, 1920]]
TOP_K = 3
CANDIDATES = 24  # per product set and size: 6 templates x 4 palette variants


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _templates() -> list[dict]:
    """The two shipped one-product templates and four variations of them (six in all)."""
    shipped = ROOT / "synthesis" / "templates"
    hero = json.loads((shipped / "single-hero.json").read_text())
    podium = json.loads((shipped / "scene-podium.json").read_text())
    variants = [hero, podium]
    for i, (base, align) in enumerate([(hero, "center"), (hero, "right"), (podium, "center"), (podium, "left")]):
        spec = json.loads(json.dumps(base))
        spec["name"] = f"{base['name']}-v{i + 1}"
        for layer in spec["layers"]:
            if layer.get("text"):
                layer["text"]["align"] = align
                layer.pop("variations", None)
        variants.append(spec)
    return variants


def run(mode: str) -> dict:
    """In a fresh process with its own database: set up the campaign, generate, report."""
    import django

    django.setup()
    from decimal import Decimal
    from io import BytesIO

    from django.core.management import call_command

    from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement
    from campaigns.services import generation_job_start, product_upsert
    from synthesis.samples import SHAPES, product_photo
    from templates_app.services import template_create, template_publish

    call_command("migrate", verbosity=0)
    rng_colours = [(178, 34, 52), (31, 58, 110), (40, 140, 90), (230, 170, 40), (120, 60, 140), (20, 20, 24)]
    campaign = Campaign.objects.create(
        name=f"bench-{mode}",
        copy=AdCopySet.objects.create(
            name="bench", titles=["冬季羽绒服 限时直降", "轻暖一整季"], subtitles=["90% 白鹅绒"]
        ),
        top_k=TOP_K,
        candidates_per_size=CANDIDATES,
    )
    for spec in _templates():
        campaign.templates.add(template_publish(template=template_create(name=spec["name"], spec=spec)))
    campaign.placements.add(Placement.objects.create(name="bench", channel="dsp", sizes=SIZES))
    for i in range(PRODUCTS):
        buf = BytesIO()
        colour = rng_colours[i % len(rng_colours)]
        product_photo(colour, shape=SHAPES[i % len(SHAPES)], size=800, seed=i).image.save(buf, format="JPEG")
        campaign.products.add(
            product_upsert(sku=f"BENCH-{i:03}", title="羽绒服", price=Decimal("599"), image_data=buf.getvalue())
        )
    started = time.perf_counter()
    job = generation_job_start(campaign=campaign)  # eager: runs here; with a broker: the workers run it
    while True:
        job.refresh_from_db()
        if job.state in (GenerationJob.State.DONE, GenerationJob.State.FAILED):
            break
        time.sleep(0.2)
    wall = time.perf_counter() - started
    creatives = Creative.objects.filter(campaign=campaign).count()
    return {
        "wall": wall,
        "candidates": PRODUCTS * len(SIZES) * CANDIDATES,
        "creatives": creatives,
        "failed": len(job.failed_sets),
    }


def _child(mode: str, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.generation", "--child", mode],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _report(label: str, r: dict) -> None:
    print(
        f"  {label:26}: {r['wall']:5.1f} s wall, {r['candidates'] / r['wall']:6.0f} candidates/s, "
        f"{r['creatives'] / r['wall']:5.1f} creatives/s ({r['creatives']} stored, {r['failed']} product sets failed)"
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-generation-"))
    base = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL", "MEDIA_STORAGE")}
    base.update(DJANGO_SETTINGS_MODULE="creativeadmin.settings", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    print(f"Campaign generation: {PRODUCTS} products x 6 templates x 4 palettes ({CANDIDATES} design families a set),")
    print(f"top {TOP_K} per product at {len(SIZES)} sizes ({', '.join(f'{w}x{h}' for w, h in SIZES)}), 2 cores")
    embedded = _child(
        "embedded", {**base, "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}", "MEDIA_ROOT": str(work / "media")}
    )
    _report("embedded (in-process)", embedded)
    if not (_answers(5432) and _answers(6379)):
        print("  worker pool: skipped (PostgreSQL 127.0.0.1:5432 and Redis 127.0.0.1:6379 must answer)")
        return
    subprocess.run(
        ["bash", "-c", "source scripts/services.sh && pg_database_ensure creativeadmin_bench fresh"],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    env = {
        **base,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/creativeadmin_bench",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/6",
        "MEDIA_ROOT": str(work / "media-pool"),
    }
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "creativeadmin", "purge", "-f"], cwd=ROOT, env=env, capture_output=True
    )  # tasks left in the queue by an interrupted run
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creativeadmin", "worker", "--concurrency", "2", "--loglevel",
         "WARNING", "--without-gossip", "--without-mingle", "-n", "bench-generation@%h"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        pool = _child("pool", env)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    _report("worker pool (2 processes)", pool)
    print("  aim: under 60 s on 2 cores")


if __name__ == "__main__":
    if "--child" in sys.argv:
        print(json.dumps(run(sys.argv[-1])))
    else:
        main()
