"""The layer rule: a lower layer never imports a higher one (checked on the source, not by convention)."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "cadastre": {"gis_service", "renderers", "wms_clients", "flask", "sqlalchemy", "requests"},
    "renderers": {"gis_service", "wms_clients", "flask", "sqlalchemy", "requests", "werkzeug"},
    "wms_clients": {"gis_service", "renderers", "flask", "sqlalchemy", "werkzeug"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_do_not_import_higher_ones(layer):
    offenders = {}
    for path in (REPO / layer).rglob("*.py"):
        bad = imported_modules(path) & FORBIDDEN[layer]
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert not offenders


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
