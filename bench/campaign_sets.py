"""Campaign at scale in one process: `bench.campaign_scale`'s campaign (the shipped image templates,
6 sizes, one design family per product set, seed 7) on a throwaway SQLite database, each product
set generated here by `creatives_generate_for_product_set`, as a worker's task does. Prints the CPU
seconds per set, in all and per stage (from the stage timings each set logs), after `--warm` sets
(a worker's memos filling), with no broker, worker or PostgreSQL: a quick check of a change to the
per-set path before the full campaign (6 minutes of both cores) is run.

The products: `--products N` takes the first N of `bench.catalogue` (each its own copy, few sets
alike); `--runs K` takes K passes of 4 photos (a real photograph, a studio photo, two drawn
products), so each photo's variants sit together in SKU order with prices repeating, as the
1,000-product campaign hands them to a worker (its 50 passes of each photo, 7 prices).
`--dump FILE` writes every creative's (set, size, family, content hash, score, violations), so two
versions of the code can be shown to make the same creatives.

Run: `python -m bench.campaign_sets [--products 48 | --runs 14] [--dump FILE]`. CPU time on a
shared machine varies by 10% between runs: compare two versions by running them side by side.
"""

import os
import tempfile
from pathlib import Path

from bench.campaign_scale import SHIPPED, SIZES, STAGES  # (its import points the environment at PostgreSQL)

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-campaign-sets-"))
os.environ.update(
    {
        "DATABASE_URL": f"sqlite:///{WORKDIR / 'db.sqlite3'}",
        "MEDIA_ROOT": str(WORKDIR / "media"),
        "VAR_DIR": str(WORKDIR / "var"),
        "CELERY_BROKER_URL": "",
        "CREATIVE_JOBS_IN_BACKGROUND": "0",
    }
)

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from decimal import Decimal  # noqa: E402

PHOTOS_PER_RUN = (0, 5, 10, 15)  # REAL-flower, STUDIO-wood, DRAWN-00, DRAWN-05 in `campaign_photos()`


class _StageLog(logging.Handler):
    """Collects the stage timings each product set logs ("Product set ... stages {...}")."""

    def __init__(self):
        super().__init__()
        self.sets: list[dict] = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Product set ") and " stages " in message:
            self.sets.append(json.loads(message.split(" stages ", 1)[1]))


def _job(products: int, runs: int):
    """A generation job over the campaign's product sets (not started: the sets are run here)."""
    from django.core.management import call_command

    from bench.catalogue import catalogue, jpeg
    from campaigns.models import AdCopySet, Campaign, GenerationJob, Placement
    from campaigns.services import product_upsert
    from campaigns.services.jobs import campaign_product_sets
    from templates_app.services import template_create, template_publish

    call_command("migrate", verbosity=0)
    campaign = Campaign.objects.create(
        name="campaign sets",
        copy=AdCopySet.objects.create(
            name="winter", titles=["冬季新品 轻暖一整季"], subtitles=["全场包邮 · 七天无理由"], badge="限时直降"
        ),
        top_k=1,
        seed=7,
    )
    for path in sorted(SHIPPED.glob("*.json")):
        campaign.templates.add(
            template_publish(template=template_create(name=path.stem, spec=json.loads(path.read_text())))
        )
    campaign.placements.add(Placement.objects.create(name="every size", channel="dsp", sizes=SIZES))
    wanted = {b + 20 * k for b in PHOTOS_PER_RUN for k in range(runs)} if runs else set(range(products))
    made = []
    for i, (sku, photo, extra) in enumerate(catalogue(20 * runs if runs else products)):
        if i in wanted:  # priced as bench.campaign_scale prices product i
            made.append(
                product_upsert(
                    sku=sku, title=sku, price=Decimal(f"{99 + 100 * (i % 7)}.90"), image_data=jpeg(photo), **extra
                )
            )
    campaign.products.set(made)
    sets = campaign_product_sets(campaign=campaign)
    return GenerationJob.objects.create(
        campaign=campaign, product_sets_total=len(sets), product_sets=sets, state=GenerationJob.State.RUNNING
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=48, help="the first N catalogue products")
    parser.add_argument("--runs", type=int, default=0, help="instead, K passes of 4 photos (repeating copy)")
    parser.add_argument("--warm", type=int, default=8, help="sets left out of the figures")
    parser.add_argument("--dump", type=Path, help="write each creative's content hash and score here")
    args = parser.parse_args()

    import django

    django.setup()
    from campaigns.models import Creative
    from campaigns.services.generation import creatives_generate_for_product_set

    job = _job(args.products, args.runs)
    log = _StageLog()
    logger = logging.getLogger("campaigns.services.generation")
    logger.addHandler(log)
    logger.setLevel(logging.INFO)
    cpu = []
    for skus in job.product_sets:
        started = time.process_time()
        creatives_generate_for_product_set(job_id=job.pk, skus=skus)
        cpu.append(time.process_time() - started)
    counted, stages = cpu[args.warm :], defaultdict(float)
    for times in log.sets[args.warm :]:
        for name, seconds in times["cpu"].items():
            stages[name] += seconds
    n = max(1, len(counted))
    print(
        f"Campaign sets in one process: {len(cpu)} product sets x {len(SIZES)} sizes; CPU per set "
        f"{sum(counted) / n * 1000:.0f} ms over the last {len(counted)} ({sum(cpu) / len(cpu) * 1000:.0f} ms over all)"
    )
    print("  per stage (CPU ms a set): " + ", ".join(f"{name} {stages[name] / n * 1000:.0f}" for name in STAGES))
    creatives = Creative.objects.filter(job=job).order_by("product_key", "width", "height", "variant")
    print(f"  {creatives.count()} creatives")
    if args.dump:
        rows = [
            [c.product_key, c.width, c.height, c.variant, c.family, c.content_hash, c.aesthetic_score, c.violations]
            for c in creatives
        ]
        args.dump.write_text(json.dumps(rows, indent=0))


if __name__ == "__main__":
    main()
