"""Campaign figures (issue 17): a real campaign at every size, generated through the product's own
generation service, checked as an art director would check it.

20 products (real photographs cut out or shown as scenes, studio photos on coloured, dark, wood
and fabric backdrops, drawn products, and products with long copy) x every shipped template x
1080x1080, 1080x1920, 1200x628, 300x250, 728x90 and 320x50, one product per creative, plus pairs
of products for the multi-product layout. Prints:

- design families per product set and rank across sizes (aim 1);
- duplicate creatives (0), truncated prices (0), text under its minimum legible size (0), breaks
  inside a word (0), empty decorations (0), subtitles that came from another product (0);
- the generation time beside a per-size search run in the same process, product set by product
  set in turn (aim: no more than 1.3x). The per-size search is what generation did before design
  families: each size drew and ranked its own candidates.

Run: `python -m bench.campaign [--products 20] [--families 2]`. A throwaway SQLite database and
media directory; Celery is not involved (each product set runs in this process, as a worker would).
"""

import os
import tempfile
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creativeadmin.settings")
os.environ["DATABASE_URL"] = f"sqlite:///{WORKDIR / 'db.sqlite3'}"
os.environ["MEDIA_ROOT"] = str(WORKDIR / "media")
os.environ.pop("CELERY_BROKER_URL", None)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import django  # noqa: E402

django.setup()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from decimal import Decimal  # noqa: E402

from django.core.management import call_command  # noqa: E402
from PIL import Image  # noqa: E402

import campaigns.services.generation as generation  # noqa: E402
from bench.catalogue import campaign_photos, jpeg  # noqa: E402
from campaigns.models import AdCopySet, Campaign, Creative, GenerationJob, Placement, Product  # noqa: E402
from campaigns.services import campaign_product_sets, creatives_generate_for_product_set, product_upsert  # noqa: E402
from synthesis.copyfit import PriceDoesNotFit  # noqa: E402
from synthesis.search import SearchResult, perceptual_hash, same_picture, search_creatives  # noqa: E402
from templates_app.services import template_create, template_publish  # noqa: E402

SIZES = [[1080, 1080], [1080, 1920], [1200, 628], [300, 250], [728, 90], [320, 50]]
SHIPPED = Path(__file__).resolve().parents[1] / "synthesis" / "templates"
LONG_TITLE = (
    "网易严选 冬季新品 轻暖一整季 90% 白鹅绒 羽绒服 限时直降 全场满 299 减 50 元 再享会员专属折扣 数量有限 先到先得"
)


def _setup(n_products: int, families: int) -> tuple[list[Campaign], list[Campaign]]:
    call_command("migrate", verbosity=0)
    templates = [
        template_publish(template=template_create(name=p.stem, spec=json.loads(p.read_text())))
        for p in sorted(SHIPPED.glob("*.json"))
    ]
    placement = Placement.objects.create(name="every size", channel="dsp", sizes=SIZES)
    copy = AdCopySet.objects.create(
        name="winter",
        titles=["冬季新品 轻暖一整季", LONG_TITLE[:80]],
        subtitles=["全场包邮 · 七天无理由"],
        badge="限时直降",
    )
    photos = campaign_photos()[:n_products]
    for i, (sku, photo, extra) in enumerate(photos):
        product_upsert(
            sku=sku, title=sku, price=Decimal(f"{99 + 100 * (i % 7)}.00") + Decimal("0.9"), image_data=jpeg(photo),
            **extra,
        )  # fmt: skip
    runs: dict[str, list[Campaign]] = {"per-size": [], "families": []}
    for label in runs:
        for per_creative, skus in ((1, [s for s, _, _ in photos]), (2, [s for s, _, _ in photos if "DRAWN" in s][:6])):
            campaign = Campaign.objects.create(
                name=f"{label} x{per_creative}", copy=copy, top_k=families, products_per_creative=per_creative, seed=7
            )
            campaign.templates.set(templates)
            campaign.placements.add(placement)
            campaign.products.set(Product.objects.filter(sku__in=skus))
            runs[label].append(campaign)
    return runs["per-size"], runs["families"]


def _per_size_search(templates, products, copies, sizes, **kwargs) -> SearchResult:
    """Generation before design families: every size drew, scored and ranked its own candidates."""
    creatives, scored, refused = [], 0, {}
    for size in sizes:
        try:
            result = search_creatives(templates, products, copies, [size], **kwargs)
        except PriceDoesNotFit as exc:
            refused[tuple(size)] = str(exc)
            continue
        creatives += result.creatives
        scored += result.candidates_scored
    return SearchResult(tuple(creatives), scored, refused)


@contextmanager
def _search_as(search):
    real = generation.search_creatives
    generation.search_creatives = search
    try:
        yield
    finally:
        generation.search_creatives = real


def _job(campaign: Campaign) -> GenerationJob:
    sets = campaign_product_sets(campaign=campaign)
    return GenerationJob.objects.create(
        campaign=campaign, state=GenerationJob.State.RUNNING, product_sets_total=len(sets), product_sets=sets
    )


def _look(creative: Creative) -> str:
    """What makes a design family, read from provenance (so the per-size run is measured alike)."""
    p = creative.provenance
    return json.dumps(
        [p["template"], p["palette"], p["copy_index"], p.get("grouping"), p.get("layers")], sort_keys=True
    )


def _figures(campaigns: list[Campaign]) -> dict:
    creatives = list(Creative.objects.filter(campaign__in=campaigns, format="image").order_by("pk"))
    looks: dict[tuple, set] = defaultdict(set)
    by_slot: dict[tuple, list] = defaultdict(list)
    violations: dict[str, int] = defaultdict(int)
    foreign = 0
    highlights = {p.sku: p.highlights for p in Product.objects.all()}
    campaign_subtitles = set(campaigns[0].copy.subtitles)
    for c in creatives:
        looks[(c.campaign_id, c.product_key, c.variant)].add(_look(c))
        by_slot[(c.campaign_id, c.product_key, c.width, c.height)].append(c)
        for v in c.violations:
            violations[v.split(":")[0]] += 1
        skus = c.product_key.split("+")
        own = {" · ".join(highlights[skus[0]][:2])} if len(skus) == 1 and highlights[skus[0]] else campaign_subtitles
        drawn = c.provenance.get("copy_fit", {}).get("texts", {}).get("subtitle", {}).get("full_text")
        if drawn and drawn not in own:
            foreign += 1
    duplicates = 0
    for members in by_slot.values():
        hashes = []
        for c in members:
            with c.file.open("rb") as fh:
                hashes.append((perceptual_hash(Image.open(io.BytesIO(fh.read()))), c.content_hash))
        duplicates += sum(
            1 for i, (h, md5) in enumerate(hashes) for h2, md5b in hashes[i + 1 :] if md5 == md5b or same_picture(h, h2)
        )
    per_rank = [len(v) for v in looks.values()]
    sets = {(c.campaign_id, c.product_key) for c in creatives}
    return {
        "creatives": len(creatives),
        "product sets": len(sets),
        "families per set and rank, mean": sum(per_rank) / max(1, len(per_rank)),
        "families per set and rank, max": max(per_rank, default=0),
        "duplicates": duplicates,
        "truncated prices": violations["price_truncated"],
        "text under its minimum": violations["text_below_minimum"],
        "breaks inside a word": violations["word_break"],
        "empty decorations": violations["empty_plate"],
        "title smaller than subtitle": violations["title_smaller_than_subtitle"],
        "subtitles from another product": foreign,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument("--families", type=int, default=2, help="design families per product set (top K)")
    args = parser.parse_args()
    baseline, families = _setup(args.products, args.families)
    seconds = {"per-size": 0.0, "families": 0.0}
    failures: dict[str, list] = {"per-size": [], "families": []}
    for old, new in zip(baseline, families, strict=True):
        old_job, new_job = _job(old), _job(new)
        for i, skus in enumerate(campaign_product_sets(campaign=new)):
            # In turn, each going first every other set: a product's first use warms caches (its cut-out).
            turns = [("per-size", old_job, _per_size_search), ("families", new_job, search_creatives)]
            for label, job, search in turns[:: 1 if i % 2 == 0 else -1]:
                with _search_as(search):
                    started = time.perf_counter()
                    creatives_generate_for_product_set(job_id=job.pk, skus=skus)
                    seconds[label] += time.perf_counter() - started
        for label, job in (("per-size", old_job), ("families", new_job)):
            job.refresh_from_db()
            failures[label] += [f"{e['product_key']} {e['size']}: {e['message'][:90]}" for e in job.candidate_errors]
            failures[label] += [f"{k}: {v[:90]}" for k, v in job.failed_sets.items()]

    print(f"Campaign: {args.products} products, {len(SIZES)} sizes, {args.families} families per set, 1 core")
    old_figures, new_figures = _figures(baseline), _figures(families)
    print(f"  {'':36} {'per-size (before)':>18} {'families (now)':>16}   aim")
    aims = {"families per set and rank, max": "1", "duplicates": "0"}
    for key in new_figures:
        old_v, new_v = old_figures[key], new_figures[key]
        fmt = (lambda v: f"{v:.2f}") if isinstance(new_v, float) else str
        aim = aims.get(key, "0" if key not in ("creatives", "product sets", "families per set and rank, mean") else "")
        print(f"  {key:36} {fmt(old_v):>18} {fmt(new_v):>16}   {aim}")
    ratio = seconds["families"] / seconds["per-size"]
    print(
        f"  generation seconds                   {seconds['per-size']:>18.1f} {seconds['families']:>16.1f}"
        f"   ratio {ratio:.2f}x (aim <= 1.3x)"
    )
    for label, items in failures.items():
        if items:
            print(f"  sizes or sets not made ({label}): {len(items)}")
            for item in items[:8]:
                print(f"    {item}")


if __name__ == "__main__":
    main()
