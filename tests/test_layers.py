"""The architecture as checked contracts: import-linter's layers, forbidden imports and no cycles; one-line module docstrings."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """pyproject.toml [tool.importlinter]: every layer rule of docs/architecture.md, checked by lint-imports."""
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency (pip install -e '.[test]')"
    result = subprocess.run([lint, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout and "kept" in result.stdout.lower()


def test_every_module_has_a_one_line_docstring():
    missing = []
    for folder in ("cadastre", "renderers", "wms_clients", "gis_service"):
        for path in (REPO / folder).rglob("*.py"):
            if "migrations/versions" in str(path):
                continue
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
            if not doc or not doc.strip():
                missing.append(str(path.relative_to(REPO)))
    assert not missing
