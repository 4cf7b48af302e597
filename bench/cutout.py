"""Cut-out figures: IoU per backdrop kind, time per photo, and theme colour off light backdrops.

Run: `python -m bench.cutout [--per-kind 12] [--seed 2026] [--sheet var/photo-set-sheet.png]` (one core: thread
pools are limited to 1). The photos come with their true masks (synthesis.photo_samples): studio
backdrops from white to wood and fabric, real photographs as lifestyle scenes, and landscapes with
no product. Each photo is JPEG-encoded (quality 90) and decoded once, as an upload would be, and
three cut-outs are measured on it in the same run: OpenCV's GrabCut initialised with the frame
minus a 5% margin (5 iterations, on a 320 px copy: see `grabcut`), `today` (the light-backdrop
cut-out as it was on main, frozen below) and `ours` (synthesis.cutout, when it is there).
IoU compares alphas thresholded at 0.5. Times are CPU time of this process (`time.process_time`), so
other work on the machine does not inflate them; `--no-grabcut` and `--no-baseline` skip the slow
baselines while working on ours.

A held-out set follows (`--held-out`, 8 photos a kind): the same products photographed on backdrops
the generator never draws and the cut-out was not tuned on, scikit-image's sample photographs
(grass, gravel, a brick pavement; blurred crops of the astronaut, the cat, the coffee cup and the
rocket as scenes behind the product). A scene declared there is safe but a miss; what counts most
is a bad cut (IoU < 0.85), which would put a broken product in an ad. Last, the studio photos are
cut again as uploads vary (0.5 px softer, JPEG quality 75, scaled up to a camera's `--camera-size`,
2400 px): the cut should not move.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
import io  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from scipy import ndimage  # noqa: E402

from synthesis.colour import delta_e_2000, srgb_to_lab, theme_colours  # noqa: E402
from synthesis.errors import ImageRejected  # noqa: E402
from synthesis.images import load_image  # noqa: E402
from synthesis.photo_samples import (  # noqa: E402
    KINDS,
    PHOTO_SHAPES,
    SCENE_KINDS,
    STUDIO_KINDS,
    contact_sheet,
    photo_set,
    product_on_backdrop,
    random_photo_body_colour,
)
from synthesis.product import theme_colours_from_bytes  # noqa: E402

COLOUR_KINDS = ("plain-colour", "gradient", "dark", "wood")
GOOD_IOU = 0.85


@dataclass(frozen=True)
class Cut:
    alpha: np.ndarray | None  # None when the method declared the photo a scene (use it whole) or rejected it
    scene: bool
    rejected: bool = False


# --- (a) GrabCut, rectangle init -----------------------------------------------------------------


def grabcut(image: Image.Image, *, side: int = 320) -> Cut:
    """OpenCV GrabCut, rectangle = the frame minus a 5% margin, 5 iterations, on a copy `side` px across.

    At 800x800 its max-flow takes 1-60 s of CPU a photo on smooth backdrops, so it runs on a reduced
    copy (as interactive tools do) and its mask is scaled back; `side=0` runs it at full size.
    """
    import cv2

    small = image
    if side and max(image.size) > side:
        scale = side / max(image.size)
        small = image.resize((round(image.width * scale), round(image.height * scale)), Image.BILINEAR)
    rgb = np.asarray(small)
    h, w = rgb.shape[:2]
    mx, my = round(0.05 * w), round(0.05 * h)
    mask = np.zeros((h, w), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    cv2.grabCut(bgr, mask, (mx, my, w - 2 * mx, h - 2 * my), bgd, fgd, 5, cv2.GC_INIT_WITH_RECT)
    fg = Image.fromarray(np.where(np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)), 255, 0).astype(np.uint8))
    if fg.size != image.size:
        fg = fg.resize(image.size, Image.BILINEAR)
    return Cut(np.asarray(fg, np.float32) / 255.0, scene=False)


# --- (b) today: synthesis.product.foreground_alpha as on main at 7062393, frozen as the baseline --


def _border_pixels(lab: np.ndarray) -> np.ndarray:
    h, w = lab.shape[:2]
    b = max(1, round(min(h, w) * 0.03))
    return np.concatenate(
        [lab[:b].reshape(-1, 3), lab[-b:].reshape(-1, 3), lab[:, :b].reshape(-1, 3), lab[:, -b:].reshape(-1, 3)]
    )


def today_foreground_alpha(rgb: np.ndarray) -> np.ndarray | None:
    """Soft foreground alpha for a product on a plain light backdrop, else None (the photo is used whole)."""
    lab = srgb_to_lab(rgb).astype(np.float32)
    border = _border_pixels(lab)
    bg = np.median(border, axis=0)
    bdiff = border - bg
    border_dist = np.sqrt(0.25 * bdiff[:, 0] ** 2 + bdiff[:, 1] ** 2 + bdiff[:, 2] ** 2)
    spread = float(np.percentile(border_dist, 90))
    if bg[0] < 70 or spread > 12:
        return None
    diff = lab - bg
    dist = np.sqrt(0.25 * diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    t0 = max(8.0, spread * 1.5 + 4.0)
    t = np.clip((dist - t0) / 14.0, 0.0, 1.0)
    alpha = t * t * (3 - 2 * t)
    solid = ndimage.binary_fill_holes(alpha > 0.5)
    alpha = np.where(solid & (alpha < 1.0), np.maximum(alpha, solid.astype(np.float32)), alpha)
    return alpha.astype(np.float32)


def today_theme_colour(data: bytes):
    """Today's theme colour, frozen: the biggest k-means cluster of the light-backdrop cut-out's core."""
    small = load_image(data, draft_size=(96, 96))
    small.thumbnail((72, 72), Image.BILINEAR)
    rgb = np.asarray(small.convert("RGB"))
    alpha = today_foreground_alpha(rgb)
    if alpha is None:
        return theme_colours(rgb.reshape(-1, 3)).theme
    return theme_colours(rgb.reshape(-1, 3), np.where(alpha > 0.9, 1.0, 0.0).reshape(-1)).theme


def today(image: Image.Image) -> Cut:
    alpha = today_foreground_alpha(np.asarray(image))
    return Cut(alpha, scene=alpha is None)


# --- (c) ours: synthesis.cutout, being written alongside -----------------------------------------


def _ours() -> tuple[Callable[[Image.Image], Cut] | None, Callable | None]:
    try:
        from synthesis import cutout
    except ImportError:
        return None, None

    def ours(image: Image.Image) -> Cut:
        try:
            result = cutout.cut_out(image)
        except ImageRejected:
            return Cut(None, scene=False, rejected=True)
        return Cut(None if result.scene else np.asarray(result.alpha, np.float32), scene=bool(result.scene))

    return ours, lambda data: theme_colours_from_bytes(data).theme


# --- measuring -----------------------------------------------------------------------------------


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two soft alphas thresholded at 0.5 (1.0 when both are empty)."""
    a, b = alpha > 0.5, truth > 0.5
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _de(found, truth) -> float:
    found = getattr(found, "theme", found)  # a ThemeColours or an RGB triple
    return float(delta_e_2000(srgb_to_lab(np.array(found, float)[:3]), srgb_to_lab(np.array(truth, float))))


def _p90(values) -> float:
    return float(np.percentile(values, 90))


def _fmt_share(values) -> str:
    return f"{100 * np.mean(values):4.0f}%" if len(values) else "    -"


# --- held-out backdrops -------------------------------------------------------------------------

# name -> (scikit-image sample file, blur radius at 800 px: a real photo behind a product in focus)
HELD_OUT = {
    "grass": ("grass.png", 0.0),
    "gravel": ("gravel.png", 0.0),
    "brick": ("brick.png", 0.0),
    "astronaut, blurred": ("astronaut.png", 4.0),
    "cat, blurred": ("chelsea.png", 4.0),
    "coffee, blurred": ("coffee.png", 3.0),
    "rocket, blurred": ("rocket.jpg", 3.0),
}


def held_out_photos(per_kind: int, size: int, seed: int) -> list[tuple[str, Image.Image, np.ndarray]] | None:
    """(kind, photo, true mask) on scikit-image's sample photographs, or None without scikit-image."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or spec.origin is None:
        return None
    data = Path(spec.origin).parent / "data"
    rng = np.random.default_rng(seed)
    out = []
    for kind, (name, blur) in HELD_OUT.items():
        with Image.open(data / name) as f:
            source = f.convert("RGB")
        for i in range(per_kind):
            shape = PHOTO_SHAPES[(i + len(out)) % len(PHOTO_SHAPES)]
            w, h = source.size
            side = int(min(w, h) * rng.uniform(0.6, 1.0))
            x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            backdrop = source.crop((x0, y0, x0 + side, y0 + side)).resize((size, size), Image.BICUBIC)
            if blur:
                backdrop = backdrop.filter(ImageFilter.GaussianBlur(blur * size / 800))
            body = random_photo_body_colour(shape, rng)
            image, mask = product_on_backdrop(backdrop, shape=shape, body_rgb=body, seed=int(rng.integers(2**31)))
            out.append((kind, image, mask))
    return out


def report_held_out(ours: Callable[[Image.Image], Cut] | None, per_kind: int, size: int, seed: int) -> None:
    photos = held_out_photos(per_kind, size, seed) if ours and per_kind else None
    if photos is None:
        print("\nHeld-out backdrops: skipped (needs scikit-image and synthesis.cutout)")
        return
    print(f"\nHeld-out backdrops (scikit-image's photographs, never drawn by the generator), {per_kind} a kind")
    print("  kind                   cut   mean IoU of cuts   bad cuts (IoU < 0.85)   scenes")
    totals = [0, 0, 0]
    for kind in HELD_OUT:
        scores, scenes = [], 0
        for k, image, mask in photos:
            if k != kind:
                continue
            cut = ours(Image.open(io.BytesIO(_jpeg(image))).convert("RGB"))
            if cut.alpha is None:
                scenes += 1
            else:
                scores.append(iou(cut.alpha, mask))
        bad = sum(s < GOOD_IOU for s in scores)
        totals[0] += len(scores)
        totals[1] += bad
        totals[2] += scenes
        mean = f"{np.mean(scores):.3f}" if scores else "-"
        print(f"  {kind:20} {len(scores):5} {mean:>18} {bad:>23} {scenes:>8}")
    n = len(photos)
    print(f"  all                  {totals[0]:5} {'':>18} {totals[1]:>23} {totals[2]:>8}   of {n} photos")


def report_stability(ours: Callable[[Image.Image], Cut] | None, photos, camera_size: int) -> None:
    """The studio photos again as uploads vary: 0.5 px softer (a lens's focus), saved at JPEG quality 75, and
    scaled up to a camera's `camera_size` px. A cut should not move with any of them."""
    if ours is None:
        return
    studio = [p for p in photos if p.kind in STUDIO_KINDS]

    def softer(image):
        return Image.open(io.BytesIO(_jpeg(image.filter(ImageFilter.GaussianBlur(0.5))))).convert("RGB")

    def compressed(image):
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=75)
        return Image.open(buf).convert("RGB")

    def camera(image):
        return Image.open(io.BytesIO(_jpeg(image))).convert("RGB").resize((camera_size, camera_size), Image.BICUBIC)

    variants = {"0.5 px softer": softer, "JPEG quality 75": compressed}
    if camera_size:
        variants[f"{camera_size} px (bicubic)"] = camera
    base = []
    for photo in studio:
        cut = ours(Image.open(io.BytesIO(_jpeg(photo.image))).convert("RGB"))
        base.append(iou(cut.alpha if cut.alpha is not None else np.ones(photo.mask.shape), photo.mask))
    print(f"\nThe {len(studio)} studio photos again as uploads vary (mean IoU {np.mean(base):.3f} as above)")
    print("  variant                  mean IoU   moved by > 0.03   ms/photo (median)")
    for name, make in variants.items():
        scores, times = [], []
        for photo in studio:
            image = make(photo.image)
            truth = photo.mask
            if image.size != photo.image.size:
                truth = np.asarray(Image.fromarray(truth.astype(np.float32)).resize(image.size, Image.BILINEAR))
            t = time.process_time()
            cut = ours(image)
            times.append(time.process_time() - t)
            scores.append(iou(cut.alpha if cut.alpha is not None else np.ones(truth.shape), truth))
        moved = sum(abs(a - b) > 0.03 for a, b in zip(base, scores, strict=True))
        print(f"  {name:22} {np.mean(scores):10.3f} {moved:17} {np.median(times) * 1000:19.0f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cutout", description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=12, help="photos per backdrop kind (default 12)")
    parser.add_argument("--size", type=int, default=800)
    parser.add_argument("--seed", type=int, default=2026, help="another draw of the same generator (7: the second set)")
    parser.add_argument("--sheet", type=Path, help="also write a contact sheet of the set (photo beside mask)")
    parser.add_argument("--grabcut-side", type=int, default=320, help="GrabCut's working size (0: full size)")
    parser.add_argument("--no-grabcut", action="store_true", help="skip the GrabCut baseline (about 1 s a photo)")
    parser.add_argument("--no-baseline", action="store_true", help="skip today's frozen cut-out and theme colour")
    parser.add_argument("--held-out", type=int, default=8, help="photos a held-out backdrop kind (0: skip)")
    parser.add_argument("--camera-size", type=int, default=2400, help="the studio photos again at this size (0: skip)")
    args = parser.parse_args(argv)

    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        cv2 = None
    ours, ours_theme = _ours()
    methods: dict[str, Callable[[Image.Image], Cut] | None] = {
        f"GrabCut (rect, {args.grabcut_side or 'full'})": (
            functools.partial(grabcut, side=args.grabcut_side) if cv2 and not args.no_grabcut else None
        ),
        "today": None if args.no_baseline else today,
        "ours": ours,
    }

    t0 = time.perf_counter()
    photos = photo_set(per_kind=args.per_kind, size=args.size, seed=args.seed)
    made = time.perf_counter() - t0
    if args.sheet:
        picks = [p for kind in KINDS for p in [q for q in photos if q.kind == kind][:3]]
        args.sheet.parent.mkdir(parents=True, exist_ok=True)
        contact_sheet(picks, columns=6).save(args.sheet)

    # Per method: kind -> list of (iou, ok on a scene kind), and the times.
    ious = {m: {k: [] for k in KINDS} for m in methods}
    oks = {m: {k: [] for k in KINDS} for m in methods}
    rejected = {m: 0 for m in methods}
    times = {m: [] for m in methods}
    colour_errors = {"today": {"two-tone": [], "single": []}, "ours": {"two-tone": [], "single": []}}
    colour_times = {"today": [], "ours": []}
    for m in methods:  # first calls (imports, caches) out of the timing
        if methods[m]:
            methods[m](photos[0].image)
    for photo in photos:
        data = _jpeg(photo.image)
        image = Image.open(io.BytesIO(data)).convert("RGB")
        for name, method in methods.items():
            if method is None:
                continue
            t = time.process_time()
            cut = method(image)
            times[name].append(time.process_time() - t)
            rejected[name] += cut.rejected
            if photo.subject:
                alpha = cut.alpha if cut.alpha is not None else np.full(photo.mask.shape, float(not cut.rejected))
                score = iou(alpha, photo.mask)
                ious[name][photo.kind].append(score)
                oks[name][photo.kind].append(score >= GOOD_IOU or cut.scene)
            else:
                oks[name][photo.kind].append(cut.scene)
        if photo.kind in COLOUR_KINDS:
            group = "two-tone" if photo.secondary_rgb is not None else "single"
            if not args.no_baseline:
                t = time.process_time()
                found = today_theme_colour(data)
                colour_times["today"].append(time.process_time() - t)
                colour_errors["today"][group].append(_de(found, photo.body_rgb))
            if ours_theme:
                t = time.process_time()
                found = ours_theme(data)  # from the bytes, as uploads are: JPEG draft decoding included
                colour_times["ours"].append(time.process_time() - t)
                colour_errors["ours"][group].append(_de(found, photo.body_rgb))

    n = len(photos)
    na = "not available"

    def row(label: str, cells: list[str], note: str = "") -> None:
        print(f"  {label:14}" + "".join(f"{c:>22}" for c in cells) + (f"   {note}" if note else ""))

    def iou_cell(m: str, values: list[float]) -> str:
        if methods[m] is None:
            return na
        return f"{np.mean(values):.3f} / {_fmt_share([x >= GOOD_IOU for x in values])}" if values else "-"

    print(f"Cut-out on {n} labelled {args.size}x{args.size} photos ({args.per_kind} per backdrop kind, JPEG q90)")
    print(f"  set made in {made:.1f} s; IoU of alphas at 0.5; cells: mean IoU / share with IoU >= {GOOD_IOU}")
    row("kind", list(methods))
    for kind in STUDIO_KINDS:
        row(kind, [iou_cell(m, ious[m][kind]) for m in methods])
    row("studio, all", [iou_cell(m, [x for k in STUDIO_KINDS for x in ious[m][k]]) for m in methods], "aim: >= 0.95")
    print("  scenes: mean IoU / share cut at IoU >= 0.85 or declared a scene (landscape: declared a scene)")
    for kind in SCENE_KINDS:
        cells = []
        for m in methods:
            mean = f"{np.mean(ious[m][kind]):.3f}" if ious[m][kind] else "-"
            cells.append(na if methods[m] is None else f"{mean} / {_fmt_share(oks[m][kind])}")
        row(kind, cells)
    row(
        "scenes, all",
        [na if methods[m] is None else _fmt_share(sum((oks[m][k] for k in SCENE_KINDS), [])) for m in methods],
        "aim: >= 90%",
    )
    row("rejected", [na if methods[m] is None else str(rejected[m]) for m in methods], "ImageRejected: cut nothing")
    ms = {m: np.array(times[m]) * 1000 for m in methods}
    cells = [na if methods[m] is None else f"{np.median(ms[m]):.0f} / {_p90(ms[m]):.0f}" for m in methods]
    row("ms/photo", cells, "CPU time, median / p90, one core; aim: <= 150")

    print()
    print(f"Theme colour on the {', '.join(COLOUR_KINDS)} photos: dE2000 to the body colour, median / p90")
    row("bodies", ["today", "ours"])
    for group in ("two-tone", "single", "all"):
        cells = []
        for m in ("today", "ours"):
            errs = colour_errors[m]
            v = errs["two-tone"] + errs["single"] if group == "all" else errs[group]
            cells.append(f"{np.median(v):.2f} / {_p90(v):.2f}" if v else na)
        count = len(colour_errors["ours"][group]) if group != "all" else sum(map(len, colour_errors["ours"].values()))
        row(f"{group} ({count})", cells, "aim: <= 1.0 / 1.8" if group == "two-tone" else "")
    row(
        "ms/JPEG",
        [f"{np.median(colour_times[m]) * 1000:.1f}" if colour_times[m] else na for m in ("today", "ours")],
        "CPU time, median, decoding included",
    )
    print("  on light backdrops (median <= 0.6, p90 <= 1.1, <= 10 ms) see `python -m bench.theme_colour`")
    report_held_out(ours, args.held_out, args.size, args.seed)
    report_stability(ours, photos, args.camera_size)


if __name__ == "__main__":
    main()
