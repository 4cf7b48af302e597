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


def test_a_cjk_font_of_any_file_name_is_found_by_its_character_map(fonts, tmp_path):
    """A machine whose only CJK font has a name the engine has never heard of (Droid Sans
    Fallback, a brand font...) still renders Chinese: the face is chosen by its cmap."""
    known = fonts.cjk_face()
    renamed = tmp_path / ("BrandFont" + known.path.suffix)
    renamed.write_bytes(known.path.read_bytes())

    registry = discover_fonts([tmp_path])
    face = registry.cjk_face()

    assert face.path == renamed
    assert face.covers_cjk
    assert font_covers(face.path, "网易严选冬季羽绒服限时直降", face.index)
    assert registry.resolve("sans").covers_cjk  # templates asking for "sans" get it too


def test_a_machine_with_only_latin_fonts_has_no_cjk_face(fonts, tmp_path):
    """Latin fonts under any name never pass as CJK: the registry refuses with the fix."""
    latin = next((f for f in fonts.faces.values() if not f.covers_cjk), None)
    if latin is None:
        pytest.skip("no Latin-only font on this machine")
    (tmp_path / "NotReallyCJK.ttf").write_bytes(latin.path.read_bytes())
    (tmp_path / "broken.otf").write_bytes(b"OTTO" + b"\0" * 64)  # damaged files are skipped, not fatal

    registry = discover_fonts([tmp_path])

    assert not any(face.covers_cjk for face in registry.faces.values())
    with pytest.raises(MissingCJKFont, match="fonts-noto-cjk"):
        registry.cjk_face()


def test_fonts_command_is_what_the_setup_script_asks(fonts, tmp_path, capsys):
    """`python -m synthesis fonts` exits 0 only when the engine itself has a CJK face."""
    from synthesis.__main__ import main

    assert main(["fonts"]) == 0
    capsys.readouterr()
    empty = tmp_path / "none"
    empty.mkdir()
    assert main(["fonts", "--only", str(empty)]) == 2
    assert "fonts-noto-cjk" in capsys.readouterr().err
