"""Every package module gets the engine's set-up, whichever is imported first in a fresh interpreter."""

import ast

import pytest
from helpers import ROOT, run_python

PACKAGE = ROOT / "autoencoders_tutorial"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
ENGINE_USERS = ("pytensor", "jax")


def _top_level_imports(name):
    """``(kind, target)`` of each top-level import of module ``name``, in order: ("package", module) or
    ("outside", top-level name)."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.module:
                yield "package", node.module.split(".")[0]
            else:
                for alias in node.names:
                    yield "package", alias.name
        elif isinstance(node, ast.ImportFrom):
            yield "outside", node.module.split(".")[0]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield "outside", alias.name.split(".")[0]


def _configures(name, seen=()):
    """True when importing ``name`` runs the engine's set-up (it is the engine or imports a module that does)."""
    if name == "engine":
        return True
    return any(kind == "package" and target not in seen and target in MODULES and _configures(target, (*seen, name))
               for kind, target in _top_level_imports(name))


@pytest.mark.parametrize("name", MODULES)
def test_no_module_imports_pytensor_before_the_engine(name):
    configured = name == "engine"
    for kind, target in _top_level_imports(name):
        if kind == "package" and target in MODULES and _configures(target):
            configured = True
        if kind == "outside" and target in ENGINE_USERS and name != "engine":
            assert configured, f"{name}.py imports {target} before the package's engine"


def test_a_module_imported_first_gets_the_set_up(tmp_path):
    # the two modules that once imported PyTensor before the engine, in fresh interpreters
    for name in ("rng", "graph"):
        code = f"import autoencoders_tutorial.{name}, pytensor; print(pytensor.config.floatX)"
        out = run_python(["-c", code], tmp_path)
        assert out.returncode == 0 and out.stdout.strip() == "float32", (name, out.stderr[-500:])


@pytest.mark.parametrize("command", ["autoencoders_tools.sweep", "autoencoders_tools.plot"])
def test_a_command_imports_its_own_model_files_not_the_current_folders(tmp_path, command):
    # a user's own mlp/ and dA.py where the command is run: python -m puts that folder first on the path
    (tmp_path / "mlp").mkdir()
    (tmp_path / "mlp" / "__init__.py").write_text("raise ImportError('the user s own mlp')\n")
    (tmp_path / "dA.py").write_text("raise ImportError('the user s own dA')\n")
    res = run_python(["-m", command, "--help"], tmp_path)
    assert res.returncode == 0 and res.stdout.startswith(f"usage: python -m {command}"), res.stderr
    check = "import sys, autoencoders_tools.sweep, mlp, dA; print(mlp.__file__, dA.__file__)"
    res = run_python(["-c", check], tmp_path)  # -c: imported as a library, the user's own folder stays theirs
    assert res.returncode != 0 and "the user s own" in res.stderr
