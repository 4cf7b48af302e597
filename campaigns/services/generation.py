"""Making one product set's creatives: the engine's image search and the video renders, stored as
Creative rows with their files (what a generation task runs)."""

import dataclasses
import functools
import json
import logging
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from creativeadmin.stages import stage, stages_recorded
from creativeadmin.storage_paths import content_addressed_name, sha256_hex, transient_storage_errors
from synthesis.colour import rgb_to_hex
from synthesis.copyfit import PriceDoesNotFit
from synthesis.errors import SynthesisError
from synthesis.layout import aspect_class
from synthesis.render import AdCopy, encode_jpeg_within, thumbnail_jpeg
from synthesis.score import aesthetic_score
from synthesis.search import NoSuitableTemplate, search_creatives
from synthesis.spec import parse_template
from synthesis.video import VideoProduct, plan_video, render_video, video_palette
from synthesis.video_spec import parse_video_template
from templates_app.engine import engine_inputs, footage_file
from templates_app.models import Template

from ..models import (
    Campaign,
    Creative,
    GenerationJob,
    Placement,
    Product,
    ProductImage,
)
from ..scorers import active_scorer
from ..serving import serving_changed
from .jobs import _job_mark, _published_versions, campaign_sizes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Copies:
    """The copy variants the search may combine, and where each text of each variant came from."""

    copies: list[AdCopy]
    sources: list[dict[str, str]]  # per variant: {"title"|"subtitle"|"badge": where it came from}


def _ad_copies(campaign: Campaign, products: list[Product]) -> _Copies:
    """The campaign's titles with each product set's own subtitle and badge.

    A product's own selling points (its highlights) and badge come first, then its category's
    override in the campaign's copy, then the campaign's subtitles and badge: a down jacket's
    selling points are never printed on a bag. A product set of several products takes the
    campaign's copy (or the category override they share). A single product's short title is
    offered as one more title.
    """
    copy = campaign.copy
    categories = {p.category for p in products}
    override = copy.category_overrides.get(categories.pop(), {}) if len(categories) == 1 else {}
    category = products[0].category
    if len(products) == 1 and products[0].highlights:
        subtitles = [" · ".join(products[0].highlights[:2])]
        subtitle_sources = [f"{products[0].sku}'s highlights"]
    elif override.get("subtitles"):
        subtitles = list(override["subtitles"])
        subtitle_sources = [f"the campaign's subtitle {i + 1} for {category}" for i in range(len(subtitles))]
    elif copy.subtitles:
        subtitles = list(copy.subtitles)
        subtitle_sources = [f"the campaign's subtitle {i + 1}" for i in range(len(subtitles))]
    else:
        subtitles, subtitle_sources = [""], ["none"]
    if len(products) == 1 and products[0].badge:
        badge, badge_source = products[0].badge, f"{products[0].sku}'s badge"
    elif override.get("badge"):
        badge, badge_source = override["badge"], f"the campaign's badge for {category}"
    else:
        badge, badge_source = copy.badge, ("the campaign's badge" if copy.badge else "none")
    titles = [(t, f"the campaign's title {i + 1}") for i, t in enumerate(copy.titles)]
    if len(products) == 1 and products[0].short_title:
        titles.append((products[0].short_title, f"{products[0].sku}'s short title"))
    price = f"¥{products[0].price.normalize():f}"
    copies, sources = [], []
    for i, (title, title_source) in enumerate(titles):
        j = i % len(subtitles)
        copies.append(AdCopy(title=title, subtitle=subtitles[j], price=price, badge=badge))
        sources.append({"title": title_source, "subtitle": subtitle_sources[j], "badge": badge_source})
    return _Copies(copies, sources)


def creatives_generate_for_product_set(*, job_id: int, skus: list[str]) -> list[Creative]:
    """Make one product set's creatives: the best images per image size, a video per video size.

    Safe to run twice: creatives are keyed by (campaign, products, format, size, variant) and
    the product set is marked done once. A failing candidate (one template version at one size,
    one image's encoding, one video) is recorded on the job and the rest of the set is made; a
    set whose inputs fail (a product, its image) or whose every candidate fails is recorded as
    failed and the job goes on with the others. Storage errors (OSError) propagate so the task
    can retry.
    """

    started = time.perf_counter()
    job = GenerationJob.objects.select_related("campaign", "campaign__copy").get(pk=job_id)
    campaign = job.campaign
    product_key = "+".join(skus)
    if product_key in job.completed_sets:
        return list(campaign.creatives.filter(product_key=product_key))
    failures: list[dict] = []
    with stages_recorded() as stages:
        try:
            products = [Product.objects.get(sku=sku) for sku in skus]
            stored = _image_creatives(job, products, product_key, failures)
            stored += _video_creatives(job, products, product_key, failures)
        except (SynthesisError, Product.DoesNotExist, FileNotFoundError) as exc:
            # A missing stored image will not come back by retrying: recorded like a bad product.
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = None
            if failures and not stored:
                error = "; ".join(dict.fromkeys(f["message"] for f in failures))  # each distinct reason once
        seconds = time.perf_counter() - started
        with stage("store"):
            _job_mark(job_id, product_key, error=error, seconds=seconds, candidate_errors=failures)
    # Where the set's time went (wall and CPU seconds per stage), for the operator and bench.campaign_scale.
    logger.info("Product set %s stages %s", product_key, json.dumps(stages.as_dict(), sort_keys=True))
    return [] if error else stored


class _CandidateAttempt:
    """What `_candidate` yields: `failed` is set once the block has raised and been recorded."""

    failed = False


@contextmanager
def _candidate(failures: list[dict], *, format: str, version, size: tuple[int, int] | None, variant: int | None):
    """Run one candidate's work; an error in it is appended to `failures` instead of failing its set.

    OSError is left to propagate: a storage error is retried by the task and a missing file fails
    the set, neither being one candidate's fault.
    """
    attempt = _CandidateAttempt()
    try:
        yield attempt
    except OSError:
        raise
    except Exception as exc:
        logger.warning("Candidate %s %s %s #%s failed", format, version, size or "every size", variant, exc_info=True)
        attempt.failed = True
        failures.append(
            {
                "format": format,
                "template_version": version.pk,
                "template": str(version),
                "size": f"{size[0]}x{size[1]}" if size else "every size",
                "variant": variant,
                "message": f"{type(exc).__name__}: {exc}"[:500],
            }
        )


def _file_size_limits(campaign: Campaign, format: str) -> dict[tuple[int, int], int]:
    """Per size, the smallest max_file_kb among the campaign's placements of that format showing it."""
    limits: dict[tuple[int, int], int] = {}
    for placement in campaign.placements.filter(format=format):
        for w, h in placement.sizes:
            limits[(w, h)] = min(limits.get((w, h), placement.max_file_kb), placement.max_file_kb)
    return limits


def _over_file_size(size_bytes: int, limit_kb: int) -> str:
    """The violation a creative too big for its placement carries: never auto-approved, and the reviewer sees why."""
    return f"over_file_size:{size_bytes // 1024}KB>{limit_kb}KB"


def _first_state(campaign: Campaign, score: float, violations) -> str:
    """Approved at once when the campaign's auto-approve threshold is met with no hard-check failure."""
    threshold = campaign.auto_approve_score
    if threshold is not None and score >= threshold and not violations:
        return Creative.State.APPROVED
    return Creative.State.PENDING


def _size_failure(size: tuple[int, int], message: str) -> dict:
    return {
        "format": Placement.Format.IMAGE, "template_version": None, "template": "",
        "size": f"{size[0]}x{size[1]}", "variant": None, "message": message,
    }  # fmt: skip


def _search_families(
    search, templates: list, versions: dict, sizes, *, product_count: int, failures: list[dict]
) -> list:
    """The engine's design families laid out at every size, what it cannot make recorded per size.

    A size whose canvas shape none of the templates is made for is left out (and said so), as is
    a size the engine refuses (the price cannot fit); the other sizes are still made. When the
    search raises, each template is searched alone to find the one at fault, and the others'
    families are ranked together as the engine ranks them (passing everywhere first, then mean
    score), so the creative ranked k at each size still belongs to family k.
    """
    fitting = [t for t in templates if t.products_min <= product_count <= t.products_max]
    wanted = []
    for size in sizes:
        shape = aspect_class(*size)
        if fitting and not any(shape in t.shapes for t in fitting):
            failures.append(_size_failure(size, f"No template of this campaign is made for {shape} canvases."))
        else:
            wanted.append(size)
    if not wanted:
        return []
    try:
        result = search(templates, wanted)
    except (NoSuitableTemplate, OSError):  # the product set itself, or storage: not a candidate's fault
        raise
    except PriceDoesNotFit as exc:  # every size refused
        failures.extend(_size_failure(size, str(exc)) for size in wanted)
        return []
    except Exception:
        logger.info("Family search failed; searching each template alone", exc_info=True)
    else:
        failures.extend(_size_failure(size, reason) for size, reason in result.refused.items())
        return list(result.creatives)
    found = []
    for template in fitting:
        version = versions[template.name]
        try:
            found += search([template], wanted).creatives
            continue
        except (NoSuitableTemplate, OSError):
            raise
        except PriceDoesNotFit as exc:  # this template cannot hold the price at any size: the others may
            failures.extend({**_size_failure(size, str(exc)), "template_version": version.pk} for size in wanted)
            continue
        except Exception:
            logger.info("Template %s failed; searching it at each size alone", template.name, exc_info=True)
        working = []
        for size in wanted:  # find the sizes at fault, then keep one look over the others
            with _candidate(failures, format=Placement.Format.IMAGE, version=version, size=size, variant=None) as tried:
                search([template], [size])
            if not tried.failed:
                working.append(size)
        if working:
            with _candidate(failures, format=Placement.Format.IMAGE, version=version, size=None, variant=None):
                found += search([template], working).creatives
    return _rank_families(found, top_k=max((c.rank for c in found), default=0) + 1)


def _rank_families(creatives: list, *, top_k: int) -> list:
    """Creatives from several searches, re-ranked by family: those passing every hard check first, then mean score."""
    families: dict[str, list] = {}
    for creative in creatives:
        families.setdefault(creative.family, []).append(creative)

    def rank_key(members: list) -> tuple:
        return (
            all(c.score.passes_hard_checks for c in members),
            sum(c.score.total for c in members) / len(members),
        )

    ordered = sorted(families.values(), key=rank_key, reverse=True)
    ranked, per_size = [], {}
    for members in ordered:
        for creative in members:
            rank = per_size.get(creative.size, 0)
            if rank < top_k:
                ranked.append(dataclasses.replace(creative, rank=rank))
                per_size[creative.size] = rank + 1
    return ranked


def _image_creatives(job: GenerationJob, products: list[Product], product_key: str, failures: list[dict]):
    """The engine's best design families over the image templates, each stored at every image size."""

    campaign = job.campaign
    sizes = campaign_sizes(campaign=campaign)
    versions = _published_versions(campaign, Template.Kind.IMAGE)
    if not sizes or not versions:
        return []
    templates = [parse_template(v.spec) for v in versions]
    by_name = {t.name: v for t, v in zip(templates, versions, strict=True)}
    inputs = engine_inputs(product_images=[p.main_image.name for p in products])
    theme, copies, scorer = inputs.theme, _ad_copies(campaign, products), active_scorer()
    prepared = tuple(
        dataclasses.replace(engine, real_height_cm=p.height_cm)
        for engine, p in zip(inputs.products, products, strict=True)
    )  # products of known height are drawn to scale beside each other

    def search(templates_: list, sizes_: list[tuple[int, int]], products_=prepared):
        with stage("search"):
            return search_creatives(
                templates_,
                products_,
                copies.copies,
                sizes_,
                theme=theme,
                fonts=inputs.fonts,
                assets=inputs.assets,
                n=campaign.candidates_per_size,
                top_k=campaign.top_k,
                seed=campaign.seed,
                scorer=scorer,  # the learned CTR model once it beats the fixed weights, else None
                stage=stage,  # its full-size renders counted as "render", the rest as "search"
                asset_memo=inputs.asset_memo,  # the template assets reduced once per process, not per set
            )

    found = _search_families(search, templates, by_name, sizes, product_count=len(products), failures=failures)
    shown = {c.family: {"kind": "main", "file": products[0].main_image.name} for c in found}
    scenes = [t for t in templates if t.takes_scenes]
    scene = products[0].images.filter(kind=ProductImage.Kind.SCENE).first() if len(products) == 1 else None
    if scene is not None and scenes:
        # The lifestyle photo competes in the templates that show scenes; the cut-out main image in all.
        in_scene_photo = engine_inputs(product_images=[products[0].main_image.name], scene_image=scene.file.name)
        search_scene = functools.partial(search, products_=in_scene_photo.products)
        scene_failures: list[dict] = []
        in_scene = [
            dataclasses.replace(
                c, family=f"s{c.family[:11]}", provenance={**c.provenance, "family": f"s{c.family[:11]}"}
            )
            for c in _search_families(search_scene, scenes, by_name, sizes, product_count=1, failures=scene_failures)
        ]
        shown.update({c.family: {"kind": "scene", "file": scene.file.name} for c in in_scene})
        found = _rank_families(found + in_scene, top_k=campaign.top_k)
        if not found:
            failures.extend(scene_failures)
    limits = _file_size_limits(campaign, Placement.Format.IMAGE)
    made = []  # (slot, defaults, files) of each creative encoded, stored together below
    for creative in found:
        version = by_name[creative.candidate.template.name]
        limit_kb = limits.get(creative.size)
        with (
            _candidate(
                failures, format=Placement.Format.IMAGE, version=version, size=creative.size, variant=creative.rank
            ) as attempt,
            stage("encode"),
        ):
            data, quality, fits = encode_jpeg_within(creative.rendered.image, limit_kb * 1024 if limit_kb else None)
            thumb = thumbnail_jpeg(creative.rendered.image)
        if attempt.failed:
            continue
        violations = list(creative.score.violations)
        if not fits:
            violations.append(_over_file_size(len(data), limit_kb))
        slot = dict(campaign=campaign, product_key=product_key, format=Placement.Format.IMAGE)
        slot.update(width=creative.size[0], height=creative.size[1], variant=creative.rank)
        provenance = {
            **creative.provenance,
            "jpeg_quality": quality,
            "copy_source": copies.sources[creative.candidate.copy_index],
            "product_image": shown[creative.family],
        }
        defaults = dict(
            job=job,
            template_version=version,
            family=creative.family,
            content_hash=sha256_hex(data),
            aesthetic_score=creative.score.total,
            score_breakdown=dict(creative.score.components),
            violations=violations,
            theme_colours=[rgb_to_hex(c) for c in theme.colours],
            provenance=provenance,
            state=_first_state(campaign, creative.score.total, violations),
        )
        made.append((slot, defaults, {"thumbnail": (thumb, "jpg"), "file": (data, "jpg")}))
    return _images_store(made)


def _images_store(made: list[tuple[dict, dict, dict]]) -> list[Creative]:
    """A product set's images (slot, defaults, files) stored together: one transaction, one query for
    the slots stored already and one insert for the new ones (it was two commits per creative, each
    waiting for the database's disk).

    All or none: a run that dies or fails here leaves no row, and its re-run (or retry) stores them
    all. A slot an earlier run stored is kept as it was (one whose run died between its row and its
    files gets them now). When another run stores one of the slots meanwhile, its row is kept.
    """
    if not made:
        return []
    with stage("store"), transaction.atomic():
        first = made[0][0]
        stored = {
            (c.width, c.height, c.variant): c
            for c in Creative.objects.filter(
                campaign=first["campaign"], product_key=first["product_key"], format=first["format"]
            )
        }
        rows, new = [], []
        for slot, defaults, files in made:
            row = stored.get((slot["width"], slot["height"], slot["variant"]))
            if row is not None and row.file:
                rows.append(row)
                continue
            if row is None:
                row = Creative(**slot, **defaults)
                new.append((slot, defaults, row))
            _files_save(row, files)
            if row.pk is not None:
                row.save(update_fields=list(files))
            rows.append(row)
        try:
            if new:
                with transaction.atomic():
                    Creative.objects.bulk_create([row for *_, row in new])
        except IntegrityError:  # another run stored one of these slots meanwhile: slot by slot, theirs kept
            kept = {}
            for slot, defaults, row in new:
                files = {name: getattr(row, name).name for name in ("file", "thumbnail")}
                kept[id(row)] = Creative.objects.get_or_create(**slot, defaults={**defaults, **files})[0]
            rows = [kept.get(id(row), row) for row in rows]
        if new:
            serving_changed()  # what each new row's post_save said (bulk_create sends none): once, for the set
    return rows


def _files_save(row: Creative, files: dict[str, tuple[bytes, str]]) -> None:
    """Write a creative's files ({field: (bytes, extension)}) under content-addressed names, not saving the row."""
    with transient_storage_errors():
        for field_name, (data, extension) in files.items():
            stored_as = content_addressed_name("creatives", data, extension)
            getattr(row, field_name).save(stored_as, ContentFile(data), save=False)


def _video_creatives(job: GenerationJob, products: list[Product], product_key: str, failures: list[dict]):
    """The top K videos per video size among the published video templates, ranked by the end card's score.

    A video already stored for its slot is not rendered again (a re-run costs a query, not a
    render). A template version that cannot be planned, or a video that fails to render, is
    recorded and the next best takes its slot. With the placement's file-size limit the engine
    re-encodes a video that comes out too big; one that still does not fit is flagged.
    """
    campaign = job.campaign
    sizes = campaign_sizes(campaign=campaign, format=Placement.Format.VIDEO)
    versions = _published_versions(campaign, Template.Kind.VIDEO)
    if not sizes or not versions:
        return []
    inputs = _video_inputs(campaign, products)
    limits = _file_size_limits(campaign, Placement.Format.VIDEO)
    templates = functools.cache(_video_template_and_footage)  # parsed (and footage found) once per version
    stored = []
    for size in sizes:
        plans = _video_plans(versions, size, inputs, templates, failures)
        stored += _video_slots_fill(job, product_key, size, plans, inputs, limit_kb=limits.get(size), failures=failures)
    return stored


@dataclass(frozen=True)
class _VideoInputs:
    """What every video of one product set is planned from."""

    products: list[VideoProduct]
    palette: Any
    theme: Any  # the first product's theme colours, which the end card is scored against
    copy: AdCopy
    fonts: Any
    assets: Any


@dataclass(frozen=True)
class _VideoPlan:
    """One template version's plan at one size, with its end card's score (None for a video without one)."""

    version: Any
    footage: Path | None
    plan: Any
    score: Any

    @property
    def total(self) -> float:
        return self.score.total if self.score else 0.0


def _video_inputs(campaign: Campaign, products: list[Product]) -> _VideoInputs:
    engine = engine_inputs(product_images=[p.main_image.name for p in products])
    prepared = zip(engine.products, products, strict=True)
    items = [VideoProduct(product, tuple(p.highlights), p.sku) for product, p in prepared]
    return _VideoInputs(
        products=items,
        palette=video_palette(items),
        theme=engine.theme,
        copy=_ad_copies(campaign, products).copies[0],
        fonts=engine.fonts,
        assets=engine.assets,
    )


def _video_template_and_footage(version) -> tuple[Any, Path | None]:
    """A version's parsed video template and its footage file (None for a template drawn on a plain base)."""
    template = parse_video_template(version.spec)
    return template, footage_file(template.base.asset) if template.base.type == "footage" else None


def _video_plans(versions: list, size: tuple[int, int], inputs: _VideoInputs, templates, failures) -> list[_VideoPlan]:
    """Every version's plan at `size`, the best end card first; a version that cannot be planned is recorded."""
    plans = []
    for version in versions:
        with _candidate(failures, format=Placement.Format.VIDEO, version=version, size=size, variant=None):
            template, footage = templates(version)
            plan = plan_video(
                template,
                size,
                products=inputs.products,
                copy=inputs.copy,
                palette=inputs.palette,
                fonts=inputs.fonts,
                assets=inputs.assets,
            )
            score = (
                aesthetic_score(plan.end_card, theme=inputs.theme, palette=inputs.palette) if plan.end_card else None
            )
            plans.append(_VideoPlan(version, footage, plan, score))
    plans.sort(key=lambda p: -p.total)
    return plans


def _video_slots_fill(
    job: GenerationJob,
    product_key: str,
    size: tuple[int, int],
    plans: list[_VideoPlan],
    inputs: _VideoInputs,
    *,
    limit_kb: int | None,
    failures: list[dict],
) -> list[Creative]:
    """The size's top-K video slots: those already stored are kept, the free ones take the best plans in turn.

    A version already in a slot is not used twice; a plan that fails to render leaves its slot to the next.
    """
    campaign = job.campaign
    slot = dict(campaign=campaign, product_key=product_key, format=Placement.Format.VIDEO)
    slot.update(width=size[0], height=size[1])
    done = {c.variant: c for c in Creative.objects.filter(**slot, variant__lt=campaign.top_k).exclude(file="")}
    stored = list(done.values())
    free = [v for v in range(campaign.top_k) if v not in done]
    done_versions = {c.template_version_id for c in done.values()}
    for candidate in plans:
        if not free:
            break
        if candidate.version.pk in done_versions:
            continue
        attempt_of = dict(format=Placement.Format.VIDEO, version=candidate.version, size=size, variant=free[0])
        with _candidate(failures, **attempt_of) as attempt, stage("render"):
            result, video, poster = _video_render(candidate, inputs, limit_kb=limit_kb)
        if attempt.failed:
            continue  # the next best plan takes this slot
        violations = list(candidate.score.violations) if candidate.score else []
        if not result.fits:
            violations.append(_over_file_size(len(video), limit_kb))
        row = _creative_store(
            {**slot, "variant": free.pop(0)},
            defaults=dict(
                job=job,
                template_version=candidate.version,
                content_hash=sha256_hex(video),
                duration=candidate.plan.template.duration,
                aesthetic_score=candidate.total,
                score_breakdown=dict(candidate.score.components) if candidate.score else {},
                violations=violations,
                theme_colours=[rgb_to_hex(c) for c in inputs.theme.colours],
                provenance={
                    "template": candidate.plan.template.name,
                    "palette": inputs.palette.name,
                    "video": result.manifest,
                    "encoding": dict(result.encoding),
                },
                state=_first_state(campaign, candidate.total, violations),
            ),
            files={"file": (video, "mp4"), "poster": (poster, "jpg")},
        )
        stored.append(row)
    return stored


def _video_render(candidate: _VideoPlan, inputs: _VideoInputs, *, limit_kb: int | None) -> tuple[Any, bytes, bytes]:
    """(the engine's result, the MP4's bytes, the poster's bytes), rendered in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="video-") as tmp:
        result = render_video(
            candidate.plan,
            Path(tmp) / "video.mp4",
            footage=candidate.footage,
            products=inputs.products,
            timeout=settings.CREATIVE_VIDEO_TIMEOUT,
            max_bytes=limit_kb * 1024 if limit_kb else None,
            # The footage's sound, encoded once per worker machine for every video drawn over it.
            soundtrack_dir=Path(settings.VAR_DIR) / "sound-cache",
        )
        return result, result.path.read_bytes(), result.poster.read_bytes()


def _creative_store(slot: dict, *, defaults: dict, files: dict[str, tuple[bytes, str]]) -> Creative:
    """The creative of a slot (campaign, products, format, size, variant), created from `defaults` once.

    Its files ({field: (bytes, extension)}, stored under content-addressed names) are written when
    the row is new or has no file yet (a run that died between the row and its files); a re-run
    of a stored slot costs one query. Storage errors (OSError) propagate for the task to retry.
    """
    with stage("store"):
        row, created = Creative.objects.get_or_create(**slot, defaults=defaults)
        if created or not row.file:
            _files_save(row, files)
            row.save(update_fields=list(files))
    return row
