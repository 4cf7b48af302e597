"""Font registry: CJK text gets a real CJK face, or a clear error that names the fix."""

from pathlib import Path

import pytest

from synthesis.errors import FontNotFound, MissingCJKFont
from synthesis.fonts import FontRegistry, discover_fonts, font_covers, font_face_from_file


def test_setup_provides_a_cjk_face_that_draws_real_glyphs(fonts):
    face = fonts.cjk_face()

    assert face.covers_cjk
    assert font_covers(face.path, "网易严选冬季羽绒服限时直降", face.index)


def test_latin_only_font_does_not_claim_cjk(fonts):
    latin = fonts.resolve("sans") if not fonts.resolve("sans").covers_cjk else None
    if latin is None:
        pytest.skip("no Latin-only font on this machine")

    assert not font_covers(latin.path, "中文", latin.index)


def test_registry_without_cjk_face_raises_with_the_fix(tmp_path):
    registry = discover_fonts([tmp_path])  # an empty directory: no fonts at all

    with pytest.raises(MissingCJKFont) as excinfo:
        registry.cjk_face()

    assert "make setup" in str(excinfo.value)
    assert "fonts-noto-cjk" in str(excinfo.value)


def test_unknown_font_name_lists_what_is_registered(fonts):
    with pytest.raises(FontNotFound, match="not registered"):
        fonts.resolve("comic-sans")


def test_a_file_that_is_not_a_font_is_refused(tmp_path):
    fake = tmp_path / "evil.ttf"
    fake.write_bytes(b"<html>not a font</html>")

    with pytest.raises(FontNotFound, match="not a readable font"):
        font_face_from_file("evil", fake)


def test_registry_is_immutable_and_extended_by_copy(fonts):
    face = fonts.cjk_face()
    extended = FontRegistry().with_face(face)

    assert extended.resolve(face.name).path == Path(face.path)
    assert FontRegistry().faces == {}
