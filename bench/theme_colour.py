"""Theme colour figures: accuracy against the true body colour, and time per 800x800 JPEG.

Run: `python -m bench.theme_colour [--no-baseline]`. Times are CPU time of this process
(`time.process_time`), so other work on the machine does not inflate them. Photos are made by
code (synthesis.samples): a product in one base colour with shading, a highlight, a label and a
soft shadow, on white, grey, warm or textured backdrops. colorthief's dominant colour on the same
images is printed beside ours.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import io  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from synthesis.colour import delta_e_2000, srgb_to_lab  # noqa: E402
from synthesis.product import theme_colours_from_bytes  # noqa: E402
from synthesis.samples import BACKDROPS, SHAPES, product_photo, random_body_colour  # noqa: E402

N = 200


def _photos():
    rng = np.random.default_rng(2026)
    for i in range(N):
        photo = product_photo(
            random_body_colour(rng),
            shape=SHAPES[i % len(SHAPES)],
            backdrop=BACKDROPS[(i // 5) % len(BACKDROPS)],
            size=800,
            seed=i,
        )
        buf = io.BytesIO()
        photo.image.save(buf, format="JPEG", quality=90)
        yield buf.getvalue(), photo.body_rgb


def _error(found, truth) -> float:
    return float(delta_e_2000(srgb_to_lab(np.array(found, float)), srgb_to_lab(np.array(truth, float))))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.theme_colour", description=__doc__.splitlines()[0])
    parser.add_argument("--no-baseline", action="store_true", help="skip colorthief (about 1 s a photo)")
    args = parser.parse_args(argv)
    photos = list(_photos())
    theme_colours_from_bytes(photos[0][0])  # import and first-call costs out of the timing
    ours, times = [], []
    for data, truth in photos:
        t0 = time.process_time()
        theme = theme_colours_from_bytes(data)
        times.append(time.process_time() - t0)
        ours.append(_error(theme.theme, truth))
    try:
        if args.no_baseline:
            raise ImportError
        from colorthief import ColorThief

        theirs, their_times = [], []
        for data, truth in photos:
            t0 = time.process_time()
            colour = ColorThief(io.BytesIO(data)).get_color(quality=1)
            their_times.append(time.process_time() - t0)
            theirs.append(_error(colour, truth))
    except ImportError:
        theirs = their_times = []

    def p90(values):
        return float(np.percentile(values, 90))

    print(f"Theme colour on {N} product-like 800x800 JPEGs (one core, CPU time)")
    print(f"  {'':28} {'median dE00':>12} {'p90 dE00':>10} {'ms/image':>10}")
    med, p, ms = statistics.median(ours), p90(ours), statistics.median(times) * 1000
    print(f"  {'synthesis.theme_colours':28} {med:12.2f} {p:10.2f} {ms:10.1f}")
    if theirs:
        print(
            f"  {'colorthief (baseline)':28} {statistics.median(theirs):12.2f} {p90(theirs):10.2f} "
            f"{statistics.median(their_times) * 1000:10.1f}"
        )
    print(
        f"  targets (issue 15): median <= 0.6 {'PASS' if med <= 0.6 else 'MISS'}, "
        f"p90 <= 1.1 {'PASS' if p <= 1.1 else 'MISS'}, <= 10 ms {'PASS' if ms <= 10 else 'MISS'}"
    )


if __name__ == "__main__":
    main()
