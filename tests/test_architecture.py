"""The shape of the code: dependencies point one way, no cycles, no hidden imports.

engine <- calculator <- catalog | faq <- front, as the import-linter contracts in
pyproject.toml say (``make lint`` runs them too).
"""

import ast
from pathlib import Path

import grimp
from importlinter import configuration
from importlinter.application.use_cases import lint_imports

ROOT = Path(__file__).resolve().parent.parent
APPS = ("calculator", "catalog", "faq", "front")

# Imports inside functions in files other builders own (catalog backend); each dodges a
# cycle or defers a heavy import, and goes when its owner reworks the file.
KNOWN_FUNCTION_IMPORTS = {
    "catalog/services.py": {"kombu.exceptions", "catalog.tasks", "config.celery"},
    "catalog/sources/__init__.py": {"catalog.models"},
    "catalog/sources/base.py": {"json"},
}
KNOWN_CYCLES = {("catalog.services", "catalog.tasks")}


def test_import_linter_contracts_are_kept():
    configuration.configure()  # what the lint-imports command does first
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), cache_dir=None)


def _function_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom):
                    found.add(inner.module or "")
                elif isinstance(inner, ast.Import):
                    found.update(alias.name for alias in inner.names)
    return found


def test_no_imports_inside_functions():
    unexpected = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            name = str(path.relative_to(ROOT))
            if "/migrations/" in name:
                continue
            extra = _function_level_imports(path) - KNOWN_FUNCTION_IMPORTS.get(name, set())
            if extra:
                unexpected[name] = sorted(extra)
    assert unexpected == {}


def test_no_import_cycles_between_modules():
    graph = grimp.build_graph(*APPS)
    cycles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if graph.find_shortest_chain(importer=imported, imported=importer):
                cycles.add(tuple(sorted((importer, imported))))
    assert cycles - KNOWN_CYCLES == set()
