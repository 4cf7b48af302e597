"""Candidate search and the command line: best creatives per size, deterministic for a seed."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from synthesis.errors import FontNotFound
from synthesis.fonts import FontRegistry
from synthesis.product import prepare_product, product_theme_colours
from synthesis.render import AdCopy, AssetNotFound, RenderChoices, render
from synthesis.samples import product_photo, sample_assets
from synthesis.score import aesthetic_score
from synthesis.search import NoSuitableTemplate, search_creatives
from synthesis.spec import load_template, parse_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [load_template(p) for p in sorted((ROOT / "synthesis" / "templates").glob("*.json"))]
COPIES = [
    AdCopy("网易严选 冬季羽绒服 限时直降", "90% 白鹅绒", "¥699", "限时直降"),
    AdCopy("轻薄保暖 一件过冬", "", "¥699"),
]


@pytest.fixture(scope="module")
def products():
    colours = [
        ((178, 34, 52), "jacket"),
        ((31, 58, 110), "bottle"),
        ((46, 125, 90), "sneaker"),
        ((214, 170, 40), "box"),
    ]
    return tuple(prepare_product(product_photo(c, shape=s, size=500, seed=i).image) for i, (c, s) in enumerate(colours))


@pytest.fixture(scope="module")
def assets():
    return sample_assets()


def _search(products, assets, fonts, **kw):
    theme = product_theme_colours(products[0].image)
    args = dict(theme=theme, fonts=fonts, assets=assets, n=24, top_k=2, seed=5)
    args.update(kw)
    return search_creatives(TEMPLATES, products, COPIES, [(1080, 1080), (728, 90)], **args)


def test_search_returns_top_k_per_size_best_first_and_servable(products, assets, fonts):
    result = _search(products[:1], assets, fonts)

    assert [c.size for c in result.creatives] == [(1080, 1080)] * 2 + [(728, 90)] * 2
    assert result.candidates_scored == 48
    for best, runner_up in zip(result.creatives[::2], result.creatives[1::2], strict=True):
        assert best.rendered.image.size == best.size
        assert best.score.passes_hard_checks
        assert (best.rank, runner_up.rank) == (0, 1)
    assert all(c.provenance["seed"] == 5 and c.provenance["template"] for c in result.creatives)


def test_same_inputs_and_seed_give_byte_identical_creatives(products, assets, fonts):
    first = [c.rendered.encode() for c in _search(products[:2], assets, fonts).creatives]
    second = [c.rendered.encode() for c in _search(products[:2], assets, fonts).creatives]
    other_seed = [c.rendered.encode() for c in _search(products[:2], assets, fonts, seed=6).creatives]

    assert first == second
    assert first != other_seed


def test_provenance_rerenders_the_same_bytes(products, assets, fonts):
    creative = _search(products[:1], assets, fonts).creatives[0]

    again = render(
        creative.candidate.template,
        creative.size,
        products=products[:1],
        copy=creative.candidate.copy,
        choices=creative.candidate.choices,
        fonts=fonts,
        assets=assets,
    )

    assert again.encode() == creative.rendered.encode()


def test_no_template_for_five_products_is_a_clear_error(products, assets, fonts):
    with pytest.raises(NoSuitableTemplate, match="5 product"):
        _search(products + products[:1], assets, fonts)


def test_a_template_is_only_used_on_the_canvas_shapes_it_was_made_for(products, assets, fonts):
    square_only = dataclasses.replace(TEMPLATES[-1], name="square-only", shapes=("square",))
    other = dataclasses.replace(TEMPLATES[-1], name="other", shapes=("wide", "banner"))
    theme = product_theme_colours(products[0].image)

    result = search_creatives(
        [square_only, other], products[:1], COPIES, [(1080, 1080), (728, 90)], theme=theme, fonts=fonts,
        assets=assets, n=8, top_k=2,
    )  # fmt: skip

    used = {(c.size, c.candidate.template.name) for c in result.creatives}
    assert used == {((1080, 1080), "square-only"), ((728, 90), "other")}
    with pytest.raises(NoSuitableTemplate, match="tall canvas"):
        search_creatives(
            [square_only, other], products[:1], COPIES, [(1080, 1920)], theme=theme, fonts=fonts, assets=assets, n=4
        )


def test_missing_asset_and_missing_font_raise_their_own_errors(products, assets, fonts):
    template = TEMPLATES[-1]
    palette_choice = RenderChoices(palette=_search(products[:1], assets, fonts).creatives[0].candidate.choices.palette)

    with pytest.raises(AssetNotFound, match="logo"):
        render(
            template, (400, 400), products=products[:1], copy=COPIES[0], choices=palette_choice, fonts=fonts, assets={}
        )
    with pytest.raises(FontNotFound):
        render(
            template,
            (400, 400),
            products=products[:1],
            copy=AdCopy("Winter"),
            choices=palette_choice,
            fonts=FontRegistry(),
            assets=assets,
        )


def test_upscaling_past_the_source_lowers_the_score(assets, fonts):
    tiny = prepare_product(product_photo((178, 34, 52), size=120).image)
    big = prepare_product(product_photo((178, 34, 52), size=900).image)
    template = next(t for t in TEMPLATES if t.name == "single-hero")
    raw = json.loads((ROOT / "synthesis" / "templates" / "single-hero.json").read_text())
    raw["layers"][2]["max_upscale"] = 8
    permissive = parse_template(raw)
    theme = product_theme_colours(big.image)
    choices = RenderChoices(palette=_palette(theme))

    small_score = aesthetic_score(
        render(permissive, (1080, 1080), products=(tiny,), copy=COPIES[0], choices=choices, fonts=fonts, assets=assets),
        theme=theme,
        palette=choices.palette,
    )
    capped = render(
        template, (1080, 1080), products=(tiny,), copy=COPIES[0], choices=choices, fonts=fonts, assets=assets
    )
    big_score = aesthetic_score(
        render(template, (1080, 1080), products=(big,), copy=COPIES[0], choices=choices, fonts=fonts, assets=assets),
        theme=theme,
        palette=choices.palette,
    )

    assert small_score.components["sharpness"] < 0.5 < big_score.components["sharpness"] == 1.0
    assert capped.max_upscale <= 1.6 + 1e-6  # the template's own limit


def _palette(theme):
    from synthesis.colour import palette_variants

    return palette_variants(theme, n=1)[0]


# Derandomized so CI is the same every run; random runs found the example below (a cut that went on
# into the second phrase when not even the first fitted), kept so it is always tried.
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(template_index=0, width=320, height=80, count=2, title="999时9999999999WW！W时", palette_index=0)
@given(
    template_index=st.integers(0, len(TEMPLATES) - 1),
    width=st.integers(320, 1080),
    height=st.integers(50, 1920),
    count=st.integers(1, 4),
    title=st.text(alphabet=st.sampled_from(list("羽绒服限时直降，。！ Winter jacket 🔥¥9")), max_size=80),
    palette_index=st.integers(0, 4),
)
def test_any_size_count_and_copy_obeys_the_layout_rules(
    products, assets, fonts, template_index, width, height, count, title, palette_index
):
    from synthesis.colour import palette_variants

    template = TEMPLATES[template_index]
    count = min(max(count, template.products_min), template.products_max)
    theme = product_theme_colours(products[0].image)
    palette = palette_variants(theme, n=5)[palette_index]

    rendered = render(
        template,
        (width, height),
        products=products[:count],
        copy=AdCopy(title, title[:20], "¥99"),
        choices=RenderChoices(palette=palette),
        fonts=fonts,
        assets=assets,
    )

    # The layout rules hold everywhere; whether 4 products are still recognisable at 320x1920 is the
    # presentation checks' call (test_presentation.py), which may refuse such a size.
    violations = aesthetic_score(rendered, theme=theme, palette=palette).violations
    assert [v for v in violations if not v.startswith("product_")] == []


def test_command_line_best_writes_winners_and_scores(tmp_path):
    photo = tmp_path / "p.jpg"
    product_photo((31, 58, 110), shape="bottle", size=600).image.save(photo)
    out = tmp_path / "out"

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthesis",
            "best",
            "--templates",
            str(ROOT / "synthesis" / "templates"),
            "--product",
            str(photo),
            "--title",
            "保温杯 316 不锈钢",
            "--price",
            "¥129",
            "--sizes",
            "1080x1080,728x90",
            "-n",
            "12",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    report = json.loads((out / "scores.json").read_text())
    assert [r["file"] for r in report] == ["1080x1080-1.jpg", "728x90-1.jpg"]
    assert all(0 <= r["score"] <= 100 and not r["violations"] for r in report)
    assert (out / "728x90-1.jpg").stat().st_size > 1000


def test_command_line_reports_bad_input_without_a_traceback(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text(
        json.dumps(
            {
                "spec_version": 1,
                "name": "x",
                "layers": [{"id": "a", "role": "title", "box": {"x": 0, "y": 0, "w": 0, "h": 1}}],
            }
        )
    )
    photo = tmp_path / "p.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n broken")

    bad_template = subprocess.run(
        [
            sys.executable,
            "-m",
            "synthesis",
            "render",
            "--template",
            str(bad),
            "--product",
            str(photo),
            "--title",
            "x",
            "-o",
            str(tmp_path / "o.jpg"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    bad_image = subprocess.run(
        [sys.executable, "-m", "synthesis", "theme-colour", str(photo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )

    assert bad_template.returncode == 2 and "layers[0].box.w: must be > 0" in bad_template.stderr
    assert bad_image.returncode == 2 and "image_rejected" in bad_image.stderr
    assert "Traceback" not in bad_template.stderr + bad_image.stderr


def test_dataclasses_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TEMPLATES[0].name = "changed"


def test_top_k_are_distinct_ads_ranked_by_their_full_size_score(products, assets, fonts):
    """Top-K means K ads a reviewer can tell apart: choices that draw the same picture with the same
    copy (here a copy entered three times, a template with few variations) count once, and #1 is
    never listed below #2."""
    from synthesis.search import perceptual_hash, same_picture

    copy = AdCopy("保温杯 316 不锈钢", "12 小时保温", "¥129")
    plain = parse_template({**json.loads((ROOT / "synthesis/templates/single-hero.json").read_text())})
    theme = product_theme_colours(products[0].image)

    result = search_creatives(
        [plain], products[:1], [copy, copy, copy], [(600, 600)], theme=theme, fonts=fonts, assets=assets,
        n=12, top_k=4,
    )  # fmt: skip

    hashes = [perceptual_hash(c.rendered.image) for c in result.creatives]
    assert len(result.creatives) >= 2
    assert all(not same_picture(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :])
    totals = [c.score.total for c in result.creatives if c.score.passes_hard_checks]
    assert totals == sorted(totals, reverse=True)
    assert [c.rank for c in result.creatives] == list(range(len(result.creatives)))


CAMPAIGN_SIZES = [(1080, 1080), (1080, 1920), (1200, 628), (300, 250), (728, 90), (320, 50)]


@pytest.mark.parametrize("count", [1, 3])
def test_a_product_sets_sizes_share_one_design_family_per_rank(products, assets, fonts, count):
    """What a brand relies on: the creative ranked k at every size is the same look (template, palette,
    copy, decorations); only the arrangement for the canvas shape may differ between sizes."""
    theme = product_theme_colours(products[0].image)
    result = search_creatives(
        TEMPLATES, products[:count], COPIES, CAMPAIGN_SIZES, theme=theme, fonts=fonts, assets=assets, n=12, top_k=2,
        seed=3,
    )  # fmt: skip

    by_rank: dict[int, list] = {}
    for creative in result.creatives:
        by_rank.setdefault(creative.rank, []).append(creative)
    assert sorted(by_rank) == [0, 1]
    families = []
    for members in by_rank.values():
        assert sorted(c.size for c in members) == sorted(CAMPAIGN_SIZES)  # a complete set of sizes
        looks = {
            (
                c.family,
                c.candidate.template.name,
                c.candidate.choices.palette,
                c.candidate.copy_index,
                c.candidate.choices.grouping,
                tuple(sorted(c.candidate.choices.layers.items())),
            )
            for c in members
        }
        assert len(looks) == 1, looks
        assert all(c.provenance["family"] == members[0].family for c in members)
        families.append(members[0].family)
    assert families[0] != families[1]


def test_families_are_drawn_the_same_whatever_sizes_are_asked(products):
    """Adding a placement size to a campaign does not redraw the looks its product sets compete with."""
    from synthesis.search import generate_families

    theme = product_theme_colours(products[0].image)
    args = dict(theme=theme, copies=COPIES, product_count=1, n=12, seed=3)
    square = generate_families(TEMPLATES, shapes=("square",), **args)
    every = generate_families(TEMPLATES, shapes=("square", "tall", "wide", "banner"), **args)

    assert [f.id for f in square] == [f.id for f in every]
    assert len({f.id for f in every}) > 6  # and they are distinct looks, not one drawn twelve times


def test_two_families_never_draw_the_same_picture_at_a_size(products, assets, fonts):
    """Top-K means K distinct creatives at every size, the small banners included."""
    from synthesis.search import perceptual_hash, same_picture

    theme = product_theme_colours(products[0].image)
    result = search_creatives(
        TEMPLATES, products[:1], COPIES[:1], CAMPAIGN_SIZES, theme=theme, fonts=fonts, assets=assets, n=16, top_k=3,
        seed=1,
    )  # fmt: skip

    for size in CAMPAIGN_SIZES:
        hashes = [perceptual_hash(c.rendered.image) for c in result.creatives if c.size == size]
        assert len(hashes) >= 2
        assert not any(same_picture(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :])


def test_a_family_is_hashed_only_when_compared_with_another_of_the_same_copy(products, assets, fonts, monkeypatch):
    # Top-K means K distinct ads: a finalist is compared by perceptual hash with the families kept
    # before it. With K = 1 and the first finalist passing, nothing is compared and nothing hashed;
    # with K = 2 the creatives are those of hashing every finalist (test_top_k_are_distinct_ads...).
    import synthesis.search as search

    hashed = []
    perceptual_hash = search.perceptual_hash
    monkeypatch.setattr(search, "perceptual_hash", lambda image: hashed.append(image) or perceptual_hash(image))

    one = _search(products[:1], assets, fonts, top_k=1)
    assert all(c.score.passes_hard_checks for c in one.creatives)
    assert hashed == []

    theme = product_theme_colours(products[0].image)
    search_creatives(
        TEMPLATES, products[:1], COPIES[:1], [(1080, 1080)], theme=theme, fonts=fonts, assets=assets, n=8, top_k=2
    )
    assert hashed  # the second family, with the same copy, was compared with the first


def test_command_line_names_what_it_cannot_do_and_writes_the_format_its_output_is_named(tmp_path, capsys):
    # Must hold: a missing templates folder and -n 0 are named as such (both said "No template supports
    # 1 product(s)"); an output named .webp is a WebP, one it cannot write is refused before any work.
    from synthesis.__main__ import main

    photo = tmp_path / "p.jpg"
    product_photo((31, 58, 110), shape="bottle", size=400).image.save(photo)
    common = ["--product", str(photo), "--title", "Bottle"]

    assert main(["best", "--templates", str(tmp_path / "none"), *common, "-o", str(tmp_path / "o")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    for argv in (
        ["best", "--templates", str(ROOT / "synthesis" / "templates"), *common, "-n", "0", "-o", str(tmp_path)],
        ["render", "--template", str(ROOT / "synthesis" / "templates" / "single-hero.json"), *common, "-o", "x.gif"],
    ):
        with pytest.raises(SystemExit) as refused:
            main(argv)
        assert refused.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err

    template = str(ROOT / "synthesis" / "templates" / "single-hero.json")
    emoji = ["--product", str(photo), "--title", "Bottle 🔥", "--size", "300x250", "-n", "1"]
    assert main(["render", "--template", template, *emoji, "-o", str(tmp_path / "e.png")]) == 0
    assert "title: dropped characters the font cannot draw: 🔥" in capsys.readouterr().err  # README: with a warning

    webp = tmp_path / "ad.webp"
    assert main(["render", "--template", template, *common, "-n", "1", "--size", "300x250", "-o", str(webp)]) == 0
    assert webp.read_bytes()[8:12] == b"WEBP"


def test_command_line_takes_a_badge_or_price_that_starts_with_a_dash(tmp_path, capsys):
    # Must hold: `--badge -30%` (a discount, as an operator types it) is the badge, not an unknown option:
    # argparse stopped with "expected one argument"; an option after a copy option is still an option.
    from synthesis.__main__ import main

    photo = tmp_path / "p.jpg"
    product_photo((31, 58, 110), shape="bottle", size=400).image.save(photo)
    template = str(ROOT / "synthesis" / "templates" / "single-hero.json")
    out = tmp_path / "ad.png"
    argv = ["render", "--template", template, "--product", str(photo), "--title", "Bottle", "--badge", "-30%"]

    assert main([*argv, "--price", "-¥50", "--size", "300x250", "-n", "1", "-o", str(out)]) == 0
    assert out.exists()
    with pytest.raises(SystemExit):
        main(["render", "--template", template, "--product", str(photo), "--title", "-n", "1", "-o", str(out)])
    assert "expected one argument" in capsys.readouterr().err
