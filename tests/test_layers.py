"""The package's layers: every import (lazy ones inside functions included) goes to the same layer or one below."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gpnas"

#: Layers from the bottom up; a module may import only modules of its own layer or of layers listed before it.
LAYERS = [
    {"exceptions", "threads"},
    {"space"},
    {"gp"},
    {"sampling"},
    {"nets"},
    {"store"},
    {"io"},
    {"run"},
    {"study"},
    {"integrations"},
    {"report", "dashboard"},
    {"cli", "__main__"},
    {"__init__"},
]
RANK = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def _room(module: str) -> str:
    """``gpnas.study.loop`` -> ``study``; ``gpnas`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for stmt in block.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("gpnas")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("gpnas"):
            found += [(node.lineno, node.module)] if node.module != "gpnas" else [
                (node.lineno, f"gpnas.{a.name}") for a in node.names]
    return found


MODULES = sorted(SRC.rglob("*.py"))


def test_every_top_level_room_has_a_layer():
    rooms = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in MODULES}
    assert rooms == set(RANK), f"unplaced: {rooms - set(RANK)}, gone: {set(RANK) - rooms}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_go_down(path):
    own = path.relative_to(SRC).parts[0].removesuffix(".py")
    upward = [f"line {line}: {target}" for line, target in _imports(path) if RANK[_room(target)] > RANK[own]]
    assert not upward, f"{path.relative_to(SRC)} ({own}) imports a higher layer: {upward}"


def test_every_package_says_what_it_is_for():
    for init in SRC.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and doc.strip(), f"{init.parent.name}/ has no docstring"
