"""The engine stays free of Home Assistant: stdlib, av and numpy only."""

import ast
from pathlib import Path
import subprocess
import sys

ENGINE = Path(__file__).parents[1] / "custom_components" / "hearthcam" / "engine"
ALLOWED_THIRD_PARTY = frozenset({"av", "numpy"})


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every absolute import in a file, wherever it appears."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value.split(".")[0])
    return names


def forbidden_imports(directory: Path) -> dict[str, set[str]]:
    """Per file, the imports that are neither stdlib nor allowed third-party packages."""
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY
    found = {}
    for path in sorted(directory.rglob("*.py")):
        bad = imported_modules(path) - allowed
        if bad:
            found[str(path.relative_to(directory))] = bad
    return found


def test_engine_imports_only_stdlib_av_numpy() -> None:
    """No engine module imports homeassistant (or anything else), even inside a function."""
    assert list(ENGINE.rglob("*.py")), "the engine package is missing"
    assert forbidden_imports(ENGINE) == {}


def test_checker_catches_a_homeassistant_import(tmp_path: Path) -> None:
    """The check above really fails on the imports it guards against."""
    (tmp_path / "ok.py").write_text("import json\nimport av\nfrom . import sibling\n")
    (tmp_path / "bad.py").write_text(
        "def f():\n    from homeassistant.core import HomeAssistant\n    import yarl\n"
    )
    (tmp_path / "sneaky.py").write_text(
        "import importlib\nimportlib.import_module('homeassistant.helpers')\n"
    )
    assert forbidden_imports(tmp_path) == {
        "bad.py": {"homeassistant", "yarl"},
        "sneaky.py": {"homeassistant"},
    }


def test_engine_imports_alone_without_homeassistant() -> None:
    """Every engine module imports as a standalone package while homeassistant is unimportable."""
    script = f"""
import importlib, pkgutil, sys
sys.modules["homeassistant"] = None  # any import of it now raises ImportError
sys.path.insert(0, {str(ENGINE.parent)!r})
engine = importlib.import_module("engine")
names = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 1
