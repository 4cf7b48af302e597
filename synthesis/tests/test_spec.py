"""Template specs: the shipped ones are valid, and every problem is reported with its path."""

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthesis.spec import TemplateSpecError, load_template, parse_template

TEMPLATES = sorted((Path(__file__).resolve().parents[1] / "templates").glob("*.json"))


def _raw(name: str = "single-hero.json") -> dict:
    return json.loads((TEMPLATES[0].parent / name).read_text())


def test_at_least_three_templates_ship_a_scene_a_single_and_a_multi_product_one():
    templates = [load_template(p) for p in TEMPLATES]

    assert len(templates) >= 3
    assert any("scene" in t.tags for t in templates)
    assert any(t.products_max == 1 for t in templates)
    assert any(t.products_max >= 4 for t in templates)


def test_bad_box_is_reported_with_its_path():
    raw = _raw()
    raw["layers"][3]["box"] = {"x": 0.1, "y": 0.1, "w": 0, "h": 0.2}

    with pytest.raises(TemplateSpecError) as excinfo:
        parse_template(raw)

    assert "layers[3].box.w: must be > 0" in excinfo.value.errors


def test_shapes_default_to_every_canvas_and_unknown_ones_are_refused():
    assert parse_template(_raw()).shapes == ("banner", "wide", "square", "tall")
    assert parse_template({**_raw(), "shapes": ["square", "tall"]}).shapes == ("square", "tall")

    with pytest.raises(TemplateSpecError) as excinfo:
        parse_template({**_raw(), "shapes": ["square", "round"]})

    assert any(e.startswith("$.shapes") or e.startswith("shapes") for e in excinfo.value.errors), excinfo.value.errors


def test_every_problem_is_listed_not_just_the_first():
    raw = _raw()
    raw["spec_version"] = 99
    raw["layers"][0]["fill"]["colour"] = "#ff0000"  # fixed colours are not allowed: palette roles only
    raw["layers"].append({"id": "bg", "role": "sparkle"})

    with pytest.raises(TemplateSpecError) as excinfo:
        parse_template(raw)

    errors = "\n".join(excinfo.value.errors)
    assert "spec_version: must be 1" in errors
    assert "layers[0].fill.colour: must be one of" in errors
    assert "layers[8].role: must be one of" in errors
    assert "layers[8].id: duplicate id 'bg'" in errors


def test_box_leaving_the_canvas_is_refused():
    raw = _raw()
    raw["layers"][2]["boxes"] = {"square": {"x": 0.7, "y": 0.1, "w": 0.5, "h": 0.2}}

    with pytest.raises(TemplateSpecError, match=r"layers\[2\].boxes.square: x \+ w = 1.200 leaves the canvas"):
        parse_template(raw)


def test_template_without_a_background_is_refused():
    raw = _raw()
    raw["layers"] = [layer for layer in raw["layers"] if layer["role"] != "background"]

    with pytest.raises(TemplateSpecError, match="exactly one background"):
        parse_template(raw)


def test_unreadable_file_and_bad_json_raise_the_spec_error(tmp_path):
    broken = tmp_path / "t.json"
    broken.write_text("{ not json")

    with pytest.raises(TemplateSpecError, match="not valid JSON"):
        load_template(broken)
    with pytest.raises(TemplateSpecError, match="cannot read"):
        load_template(tmp_path / "missing.json")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2, allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(path_choice=st.integers(0, 10_000), value=_json)
def test_any_mutation_of_a_valid_spec_gives_a_template_or_the_spec_error(path_choice, value):
    raw = copy.deepcopy(_raw())
    layer = raw["layers"][path_choice % len(raw["layers"])]
    keys = sorted(layer) + ["box", "text", "variations", "fill"]
    layer[keys[path_choice % len(keys)]] = value

    try:
        parse_template(raw)
    except TemplateSpecError as exc:
        assert exc.errors
