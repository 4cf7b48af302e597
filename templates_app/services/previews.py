"""Previews of a template: the preview sheet (every sheet size, sample products), a saved version
rendered with given product images, and the visual editor's design preview of an unsaved spec.
Each has a time budget past which the work stops (PreviewRejected, time_budget_exceeded)."""

import io
import json
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max
from PIL import Image

from synthesis.copyfit import PriceDoesNotFit
from synthesis.errors import SynthesisError, TimeBudgetExceeded
from synthesis.layout import aspect_class
from synthesis.render import AdCopy
from synthesis.search import design_preview, search_creatives
from synthesis.spec import parse_template

from ..engine import engine_inputs
from ..errors import PreviewRejected
from ..models import Asset, Template, TemplateVersion
from .specs import validated_spec

SHEET_SIZES = ((1080, 1080), (1080, 1920), (1200, 628), (1080, 1350), (300, 250), (728, 90), (320, 50))
SHEET_COPY = {
    "title": "冬季新品 轻暖一整季 限时直降",
    "subtitle": "90% 白鹅绒 · -20°C 保暖",
    "price": "¥599",
    "badge": "限时",
}


@dataclass(frozen=True)
class SheetCell:
    size: tuple[int, int]
    products: int
    image: bytes  # JPEG
    score: float
    violations: tuple[str, ...]


def template_preview_sheet(*, version: TemplateVersion) -> list[SheetCell]:
    """The version rendered at every sheet size, with its fewest and most products (sample photos):
    the best of a few variations each, as candidate search would pick, with its hard-check failures.

    The whole sheet has TEMPLATE_SHEET_SECONDS: past them the work stops and PreviewRejected
    (code time_budget_exceeded) is raised, so a costly template never keeps a core busy for long.
    """

    deadline = time.monotonic() + settings.TEMPLATE_SHEET_SECONDS
    template = parse_template(version.spec)
    counts = sorted({max(1, template.products_min), max(1, template.products_max)})
    sizes = [size for size in SHEET_SIZES if aspect_class(*size) in template.shapes]
    cells = []
    for count in counts:
        inputs = engine_inputs(samples=count)
        try:
            result = search_creatives(
                [template],
                inputs.products,
                [AdCopy(**SHEET_COPY)],
                sizes,
                theme=inputs.theme,
                fonts=inputs.fonts,
                assets=inputs.assets,
                n=4,
                top_k=1,
                deadline=deadline,
            )
        except TimeBudgetExceeded as exc:
            raise _over_budget("The preview sheet", settings.TEMPLATE_SHEET_SECONDS) from exc
        except PriceDoesNotFit:  # at every size
            cells += [_refused_cell(size, count) for size in sizes]
            continue
        for creative in result.creatives:
            violations = tuple(creative.score.violations) + sample_title_cuts(creative.rendered, creative.score)
            cells.append(
                SheetCell(
                    creative.size, count, creative.rendered.encode(quality=80), creative.score.total, violations
                )
            )  # fmt: skip
        cells += [_refused_cell(size, count) for size in result.refused]
    return cells


def _refused_cell(size: tuple[int, int], count: int) -> SheetCell:
    """A sheet size the engine refused (the sheet's sizes all suit the template, so the price cannot fit
    there whole and legible): a blank cell carrying the price's hard error."""
    blank = io.BytesIO()
    Image.new("RGB", size, (236, 236, 236)).save(blank, format="JPEG", quality=80)
    return SheetCell(size, count, blank.getvalue(), 0.0, ("price_does_not_fit:price",))


def sample_title_cuts(rendered, score) -> tuple[str, ...]:
    """The sheet's own hard check beyond the engine's: the sample title must show whole.

    Generation may cut a long title between phrases (the creative's provenance keeps the words it
    dropped, and a cut inside a phrase is the engine's `text_cut_mid_phrase`); the sheet's words are
    kept nowhere, and a template that cannot show the ordinary-length sample title at a sheet size
    will cut real titles there: `title_cut:<layer>:<what was drawn>` keeps it from being published.
    """
    flagged = {v.split(":")[1] for v in score.violations if v.startswith("text_cut_mid_phrase:")}
    return tuple(
        f"title_cut:{t.layer_id}:{t.drawn_text}"
        for t in rendered.texts
        if t.role == "title" and t.block.truncated and t.layer_id not in flagged
    )


@dataclass(frozen=True)
class SheetError:
    """One hard-check failure of a preview sheet cell: the engine's code (`text_over_product:title`)."""

    size: tuple[int, int]
    products: int
    violation: str

    def __str__(self) -> str:
        return f"{self.size[0]}x{self.size[1]} with {self.products} product(s): {self.violation}"


_sheet_checked: dict[str, list[SheetError]] = {}  # spec and assets fingerprint -> errors, for this process


def sheet_errors(version: TemplateVersion) -> list[SheetError]:
    """Hard errors in the version's preview sheet; the same spec with the same assets is checked once."""

    assets = Asset.objects.aggregate(n=Count("pk"), latest=Max("created_at"))
    key = json.dumps([version.spec, assets["n"], str(assets["latest"])], sort_keys=True)
    if key not in _sheet_checked:
        _sheet_checked[key] = [
            SheetError(tuple(c.size), c.products, v)
            for c in template_preview_sheet(version=version)
            for v in c.violations
        ]
    return _sheet_checked[key]


def _over_budget(what: str, seconds: float) -> PreviewRejected:
    return PreviewRejected(
        f"{what} took more than its {seconds:g} s and was stopped: simplify the template (fewer layers).",
        code="time_budget_exceeded",
        extra={"seconds": seconds},
    )


def template_preview(
    *, version: TemplateVersion, size: tuple[int, int], product_images: list[str], copy: dict, seed: int = 0
) -> dict:
    """Render a version with sample or real products: the best of a few variations, scored.

    `product_images` are the stored names of the products' main images (prepared by the engine).
    Returns {"image": JPEG bytes, "score": ..., "components": {...}, "violations": [...]}.
    PreviewRejected (code time_budget_exceeded) past TEMPLATE_PREVIEW_SECONDS.
    """

    deadline = time.monotonic() + settings.TEMPLATE_PREVIEW_SECONDS
    width, height = size
    if not (50 <= width <= 2160 and 50 <= height <= 2160):
        raise PreviewRejected(f"Preview size {width}x{height} is outside 50..2160 pixels.", code="bad_size")
    template = parse_template(version.spec)
    if not template.products_min <= len(product_images) <= template.products_max:
        raise PreviewRejected(
            f"This template lays out {template.products_min}-{template.products_max} products, "
            f"not {len(product_images)}.",
            code="product_count",
        )
    try:
        inputs = engine_inputs(product_images=product_images)
        ad_copy = AdCopy(**{k: str(copy.get(k, "")) for k in ("title", "subtitle", "price", "badge")})
        result = search_creatives(
            [template],
            inputs.products,
            [ad_copy],
            [size],
            theme=inputs.theme,
            fonts=inputs.fonts,
            assets=inputs.assets,
            n=8,
            top_k=1,
            seed=seed,
            deadline=deadline,
        )
    except TimeBudgetExceeded as exc:
        raise _over_budget("The preview", settings.TEMPLATE_PREVIEW_SECONDS) from exc
    except SynthesisError as exc:
        raise PreviewRejected(str(exc), code=exc.code) from exc
    creative = result.creatives[0]
    return {
        "image": creative.rendered.encode(),
        "score": creative.score.total,
        "components": dict(creative.score.components),
        "violations": list(creative.score.violations),
        "warnings": list(creative.rendered.warnings),
    }


# The editor's preview sizes: the shapes designers are asked for most, one per aspect class at least.
EDITOR_SIZES = (
    (1080, 1080, "1:1"), (1080, 1920, "9:16"), (1920, 1080, "16:9"), (1080, 1350, "4:5"), (1200, 628, "link ad"),
    (300, 250, "MPU"), (728, 90, "leaderboard"), (320, 50, "mobile banner"),
)  # fmt: skip


def template_design_preview(*, spec: dict, name: str, size: tuple[int, int], product_count: int, copy: dict) -> dict:
    """An unsaved spec as the editor shows it: rendered as designed with sample products, scored.

    Raises TemplateRejected (every spec problem in extra["errors"]) or PreviewRejected. Returns the
    JPEG, the score and its components, the hard-check violations, the renderer's warnings and the
    pixel box of every laid-out layer, so the editor draws its handles where the engine drew them.
    The render and its score have TEMPLATE_PREVIEW_SECONDS (PreviewRejected, code time_budget_exceeded).
    """

    deadline = time.monotonic() + settings.TEMPLATE_PREVIEW_SECONDS
    spec, parsed = validated_spec(spec, name=name)
    if parsed.kind != Template.Kind.IMAGE:
        raise PreviewRejected("The visual editor edits image templates.", code="not_image")
    width, height = size
    if not (50 <= width <= 2160 and 50 <= height <= 2160):
        raise PreviewRejected(f"Preview size {width}x{height} is outside 50..2160 pixels.", code="bad_size")
    if not (max(1, parsed.products_min) <= product_count <= max(1, parsed.products_max)):
        raise PreviewRejected(
            f"This template lays out {parsed.products_min}-{parsed.products_max} products, not {product_count}.",
            code="product_count",
        )
    try:
        inputs = engine_inputs(samples=product_count if parsed.products_max else 0)
        rendered, score = design_preview(
            parsed,
            size,
            products=inputs.products,
            copy=AdCopy(**{k: str(copy.get(k, "")) for k in ("title", "subtitle", "price", "badge")}),
            theme=inputs.theme,
            fonts=inputs.fonts,
            assets=inputs.assets,
            deadline=deadline,
        )
    except TimeBudgetExceeded as exc:
        raise _over_budget("The preview", settings.TEMPLATE_PREVIEW_SECONDS) from exc
    except SynthesisError as exc:
        raise PreviewRejected(str(exc), code=exc.code) from exc
    violations = list(score.violations)
    if str(copy.get("title", "")) == SHEET_COPY["title"]:  # the sample copy: what Publish will check
        violations += sample_title_cuts(rendered, score)
    return {
        "image": rendered.encode(quality=85),
        "score": score.total,
        "components": dict(score.components),
        "violations": violations,
        "warnings": list(rendered.warnings),
        "aspect_class": rendered.layout.aspect_class,
        "shape_supported": rendered.layout.aspect_class in parsed.shapes,
        "layout": {layer_id: list(box) for layer_id, box in rendered.layout.boxes.items()},
    }
