"""Set-up finds a font the engine can use (issue 18, item 12).

`make demo` stopped on a fresh machine whose only CJK font (Droid Sans Fallback) had a file name
the engine did not know, although the set-up script had accepted it. The engine now reads each
font's character map, and the set-up script asks the engine (`python -m synthesis fonts`).
"""

import pytest

from synthesis.errors import MissingCJKFont
from synthesis.fonts import discover_fonts, font_covers


@pytest.fixture(scope="module")
def fonts():
    return discover_fonts()


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


def test_the_set_up_script_accepts_what_the_engine_accepts(fonts, tmp_path):
    """scripts/ensure-cjk-font.sh asks the engine: a machine whose only CJK font has an unknown name
    passes without installing anything (fc-list used to pass it while the engine refused it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    known = fonts.cjk_face()
    only = tmp_path / "fonts"
    only.mkdir()
    (only / ("DroidLike" + known.path.suffix)).write_bytes(known.path.read_bytes())
    engine = tmp_path / "python"  # the engine as it would run on that machine: only these fonts
    engine.write_text(f"#!/bin/sh\nexec {sys.executable} -m synthesis fonts --only {only}\n")
    engine.chmod(0o755)
    root = Path(__file__).resolve().parents[2]

    run = subprocess.run(
        ["bash", str(root / "scripts" / "ensure-cjk-font.sh")],
        env={**os.environ, "PY": str(engine), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr
    assert "Installing" not in run.stdout + run.stderr
