"""The video template specification: a versioned JSON format beside the image spec.

A video template is a base track (uploaded footage, or a background generated from the
palette) and a timeline of slots: product hero images with a motion, one selling point
per highlight slot, the price, the logo and an end card. Geometry is named regions (or
the designer's own boxes per aspect class), colours are palette roles and fonts are
registry names, exactly as in image templates, so one video template renders at 9:16,
1:1 and 16:9 for any product. Errors carry their path; `docs/video-spec.md` documents it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .colour import PALETTE_ROLES
from .spec import SPEC_VERSION, Box, SpecReader, TemplateSpecError, read_spec_file

SLOT_TYPES = ("product", "highlight", "price", "logo", "end_card")
MOTIONS = ("static", "zoom-in", "slide-left", "slide-right", "slide-up", "slide-down", "fade")
TRANSITIONS = ("cut", "crossfade")
BASE_TYPES = ("footage", "colour", "gradient", "image")
REGIONS = ("hero", "caption", "price", "logo", "full")
VIDEO_ASPECTS = ("tall", "square", "wide")
DEFAULT_MOTION = {"product": "zoom-in", "highlight": "slide-up", "price": "fade", "logo": "static", "end_card": "fade"}
DEFAULT_REGION = {"product": "hero", "highlight": "caption", "price": "price", "logo": "logo", "end_card": "full"}
MAX_DURATION = 120.0
MAX_SLOTS = 60  # each slot is drawn and becomes part of ffmpeg's filter graph (docs/video-spec.md)


@dataclass(frozen=True)
class Base:
    type: str = "colour"
    asset: str | None = None  # footage or image asset name
    colour: str = "background"
    to: str = "primary"
    angle: float = 90.0
    audio: bool = True  # keep the footage's audio (trimmed, faded out at the end)
    audio_fade: float = 1.0


@dataclass(frozen=True)
class Slot:
    type: str
    start: float
    end: float
    region: str
    boxes: Mapping[str, Box]  # the designer's box per aspect class, overriding the region
    motion: str
    transition: str
    product: int = 0  # index into the product set (wraps when the set is smaller)
    highlight: int = 0  # index into that product's highlights
    cta: str = ""  # end card call to action
    colour: str = "primary"  # plate colour role for highlight and price
    font: str = "sans-cjk-bold"

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class VideoTemplate:
    name: str
    duration: float
    fps: int
    base: Base
    slots: tuple[Slot, ...]
    transition: str = "crossfade"
    transition_duration: float = 0.4
    safe_margin: float = 0.05
    description: str = ""
    tags: tuple[str, ...] = ()
    kind: str = "video"

    @property
    def frame_count(self) -> int:
        return round(self.duration * self.fps)

    @property
    def product_count(self) -> int:
        """How many different products the timeline names (a smaller set wraps round)."""
        indices = [s.product for s in self.slots if s.type in ("product", "highlight")]
        return max(indices) + 1 if indices else 0

    @property
    def products_min(self) -> int:
        return 1

    @property
    def products_max(self) -> int:
        return max(1, min(4, self.product_count))


def _parse_slot(r: SpecReader, raw_slot: Any, path: str, duration: float, transition: str) -> Slot | None:
    raw = r.obj(raw_slot, path)
    if not raw:
        return None
    kind = r.choice(raw, "type", path, "product", SLOT_TYPES)
    start = r.number(raw, "start", path, 0.0, lo=0)
    end = r.number(raw, "end", path, duration, lo=0)
    if end <= start:
        r.error(f"{path}.end", f"must be after start ({start:g} s)")
    if end > duration + 1e-6:
        r.error(f"{path}.end", f"must be <= the template's duration ({duration:g} s)")
    region = r.choice(raw, "region", path, DEFAULT_REGION[kind], REGIONS)
    boxes: dict[str, Box] = {}
    for cls, raw_box in r.obj(raw.get("boxes", {}), f"{path}.boxes").items():
        if cls not in VIDEO_ASPECTS:
            r.error(f"{path}.boxes.{cls}", f"unknown aspect class (use {', '.join(VIDEO_ASPECTS)})")
            continue
        boxes[cls] = r.box(raw_box, f"{path}.boxes.{cls}")
    colour = r.choice(raw, "colour", path, "accent" if kind == "price" else "primary", PALETTE_ROLES)
    cta = raw.get("cta", "")
    if not isinstance(cta, str) or len(cta) > 40:
        r.error(f"{path}.cta", "must be text of at most 40 characters")
        cta = ""
    return Slot(
        type=kind,
        start=start,
        end=end,
        region=region,
        boxes=boxes,
        motion=r.choice(raw, "motion", path, DEFAULT_MOTION[kind], MOTIONS),
        transition=r.choice(raw, "transition", path, transition, TRANSITIONS),
        product=r.integer(raw, "product", path, 0, lo=0, hi=3),
        highlight=r.integer(raw, "highlight", path, 0, lo=0, hi=9),
        cta=cta,
        colour=colour,
        font=r.string(raw, "font", path, "sans-cjk-bold") or "sans-cjk-bold",
    )


def parse_video_template(data: Any) -> VideoTemplate:
    """Validate raw JSON data and return a VideoTemplate; raises TemplateSpecError listing every problem."""
    r = SpecReader()
    raw = r.obj(data, "$")
    if not raw:
        raise TemplateSpecError(r.errors or ["$: must be a non-empty object"])
    if raw.get("spec_version") != SPEC_VERSION:
        r.error("spec_version", f"must be {SPEC_VERSION} (got {raw.get('spec_version')!r})")
    if raw.get("kind") != "video":
        r.error("kind", f"must be 'video' (got {raw.get('kind')!r})")
    name = r.string(raw, "name", "$", None)
    if name is None:
        r.error("name", "is required")
    duration = r.number(raw, "duration", "$", 15.0, lo=1, hi=MAX_DURATION)
    fps = r.integer(raw, "fps", "$", 25, lo=10, hi=60)
    canvas = r.obj(raw.get("canvas", {}), "canvas")
    safe_margin = r.number(canvas, "safe_margin", "canvas", 0.05, lo=0, hi=0.2)

    raw_base = r.obj(raw.get("base", {"type": "colour"}), "base")
    base_type = r.choice(raw_base, "type", "base", "colour", BASE_TYPES)
    asset = r.string(raw_base, "asset", "base", None)
    if base_type in ("footage", "image") and asset is None:
        r.error("base.asset", f"is required for a {base_type} base")
    base = Base(
        type=base_type,
        asset=asset,
        colour=r.choice(raw_base, "colour", "base", "background", PALETTE_ROLES),
        to=r.choice(raw_base, "to", "base", "primary", PALETTE_ROLES),
        angle=r.number(raw_base, "angle", "base", 90.0, lo=0, hi=360),
        audio=bool(raw_base.get("audio", True)),
        audio_fade=r.number(raw_base, "audio_fade", "base", 1.0, lo=0, hi=10),
    )

    raw_transition = r.obj(raw.get("transition", {}), "transition")
    transition = r.choice(raw_transition, "type", "transition", "crossfade", TRANSITIONS)
    transition_duration = r.number(raw_transition, "duration", "transition", 0.4, lo=0, hi=2)

    raw_slots = raw.get("slots")
    slots: list[Slot] = []
    if not isinstance(raw_slots, list) or not raw_slots:
        r.error("slots", "must be a non-empty list")
    elif len(raw_slots) > MAX_SLOTS:
        r.error("slots", f"at most {MAX_SLOTS} slots per video template (got {len(raw_slots)}); merge or remove some")
    else:
        for i, raw_slot in enumerate(raw_slots):
            slot = _parse_slot(r, raw_slot, f"slots[{i}]", duration, transition)
            if slot is not None:
                slots.append(slot)
    if slots and not any(s.type == "product" for s in slots):
        r.error("slots", "a product video needs at least one product slot")
    if sum(s.type == "end_card" for s in slots) > 1:
        r.error("slots", "at most one end_card slot")
    if r.errors:
        raise TemplateSpecError(r.errors)
    tags = raw.get("tags", [])
    return VideoTemplate(
        name=name or "",
        duration=duration,
        fps=fps,
        base=base,
        slots=tuple(sorted(slots, key=lambda s: (s.start, SLOT_TYPES.index(s.type)))),
        transition=transition,
        transition_duration=transition_duration,
        safe_margin=safe_margin,
        description=str(raw.get("description", "")),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


def load_video_template(path: str | Path) -> VideoTemplate:
    """Read and validate a video template JSON file."""
    return parse_video_template(read_spec_file(path))
