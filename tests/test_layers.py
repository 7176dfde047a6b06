"""The layers of the architecture (docs/architecture.md), checked on the source.

Every module of a package may import its own package and the packages below it, never one
above it or beside it; ``spikeforge.model`` (PyTorch, seconds to import) is the only part of
spikeforge that may be imported inside a function, so that no function-level import can hide
a dependency cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: package (= top-level folder) -> the packages it may import besides itself, bottom first.
#: The folder spikeforge/ is the application package (cli, flow, demo, commands).
ALLOWED = {
    "ir": set(),
    "sim": {"ir"},
    "hdl": {"ir", "sim"},
    "compiler": {"ir", "sim", "hdl"},
    "cosim": {"ir", "sim", "hdl", "compiler"},
    "model": {"ir", "sim", "compiler"},
    "boards": {"ir", "sim", "hdl", "compiler", "cosim"},
    "spikeforge": {"ir", "sim", "hdl", "compiler", "cosim", "model", "boards"},
}
LAZY = {"model"}  #: what may be imported inside a function (torch: seconds to import)
VERSION = ("spikeforge", "__version__")  #: spikeforge/__init__.py imports nothing: anyone may


def _package_of(module: list[str]) -> str:
    """The layer of a module given as its parts below ``spikeforge``."""
    return module[0] if module and module[0] in ALLOWED else "spikeforge"


def imports_of(path: Path, root: Path):
    """``(line, imported module parts, at module level)`` for every spikeforge import of the
    file ``path`` of the tree ``root`` (relative imports resolved)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "spikeforge":  # the application folder is the root package itself
        parts = parts[1:]
    package = parts[:-1]  # the package that contains the module (for __init__: itself)
    tree = ast.parse(path.read_text(), str(path))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
            elif node.module and node.module.split(".")[0] == "spikeforge":
                base = []
            else:
                continue
            module = base + (node.module.split(".") if node.module else [])
            if not node.level:
                module = module[1:]
            names = [module] if module else [[alias.name] for alias in node.names]
            if module == [] and [a.name for a in node.names] == [VERSION[1]]:
                continue
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".")[1:] for alias in node.names
                     if alias.name.split(".")[0] == "spikeforge"]
        else:
            continue
        for name in names:
            yield node.lineno, name, id(node) in top_level


def violations(root: Path = ROOT) -> list[str]:
    """Every upward or sideways import, and every function-level import of spikeforge that
    is not in :data:`LAZY`, as ``file:line: what``."""
    found = []
    for package, allowed in ALLOWED.items():
        for path in sorted((root / package).rglob("*.py")):
            for line, module, top in imports_of(path, root):
                target, where = _package_of(module), f"{path.relative_to(root)}:{line}"
                if target != package and target not in allowed:
                    found.append(f"{where}: {package} imports {target}, which lies above or "
                                 f"beside it")
                if not top and target not in LAZY:
                    found.append(f"{where}: function-level import of spikeforge.{'.'.join(module)}"
                                 f"; only {sorted(LAZY)} may be imported lazily")
    return found


def test_dependencies_point_one_way():
    assert violations() == []


@pytest.mark.parametrize("package, source, complaint", [
    ("hdl", "from spikeforge.compiler.map import plan_network\n", "hdl imports compiler"),
    ("sim", "from ..hdl.system import SpikeforgeSystem\n", "sim imports hdl"),
    ("compiler", "def f():\n    from spikeforge.model.lif import LIFNet\n", "compiler imports model"),
    ("cosim", "def f():\n    from spikeforge.compiler.map import plan_network\n",
     "function-level import of spikeforge.compiler.map"),
    ("model", "import spikeforge.cosim.runner\n", "model imports cosim"),
    ("ir", "from . import params\nfrom ..sim import golden\n", "ir imports sim"),
])
def test_an_upward_import_is_reported(tmp_path, package, source, complaint):
    """The check can fail: each planted import is named with its file and line."""
    (tmp_path / package).mkdir()
    (tmp_path / package / "bad.py").write_text(source)
    found = violations(tmp_path)
    assert any(f"{package}/bad.py:" in v and complaint in v for v in found), found
    assert not any("imports ir" in v for v in found)  # its own package is always allowed
