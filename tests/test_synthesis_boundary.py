"""synthesis/ is a plain library: it must never import Django, DRF or Celery."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SYNTHESIS = Path(__file__).resolve().parent.parent / "synthesis"
FORBIDDEN = ("django", "rest_framework", "celery", "drf_spectacular", "storages")


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", sorted(SYNTHESIS.rglob("*.py")), ids=lambda p: str(p.relative_to(SYNTHESIS)))
def test_no_framework_import_in_source(path):
    assert not (_imported_roots(path) & set(FORBIDDEN))


def test_importing_every_module_loads_no_framework():
    modules = sorted(
        "synthesis." + ".".join(p.relative_to(SYNTHESIS).with_suffix("").parts)
        for p in SYNTHESIS.rglob("*.py")
        if "tests" not in p.parts and p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m.removesuffix('.__init__'))\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=SYNTHESIS.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_command_line_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "synthesis", "--help"], cwd=SYNTHESIS.parent, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "usage" in result.stdout
