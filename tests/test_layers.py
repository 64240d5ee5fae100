"""The house's three layers, read from the code: every import of the project's own modules sits at the top of
its module and points down (the machinery, then the tutorial's model files, then the applications), and no
two modules import each other in a loop.

The layers (docs/explanation/architecture.md):

1. the machinery, ``autoencoders_tutorial/``: imports no model file and no application;
2. the model files ``logistic_sgd.py``, ``mlp.py``, ``dA.py``, ``SdA.py`` and ``utils.py``: the machinery only
   (and each other);
3. the applications, ``autoencoders_tools/``: anything below.

Third-party packages are imported at the top too, except the optional ones (and scikit-learn, whose import costs
a second at the start of every script that does not need it), which are imported where they are used.
"""

import ast

import pytest
from helpers import ROOT

MACHINERY, MODELS, APPS = 1, 2, 3
MODEL_FILES = ("logistic_sgd", "mlp", "dA", "SdA", "utils")
#: Third-party packages a function may import where it uses them: optional, or slow to import and rarely needed.
LAZY = {"jax", "jaxlib", "dask", "distributed", "matplotlib", "sklearn", "onnx", "skl2onnx", "zarr"}
#: The one module that may import upwards: where pickles of versions up to 0.3 find the estimators. It holds
#: that import and nothing else.
PICKLE_SHIM = ("autoencoders_tutorial.estimators", "autoencoders_tools.estimators")


def modules():
    """``{dotted name: (layer, path)}`` of every module of the three layers."""
    found = {name: (MODELS, ROOT / f"{name}.py") for name in MODEL_FILES}
    for package, layer in (("autoencoders_tutorial", MACHINERY), ("autoencoders_tools", APPS)):
        for path in sorted((ROOT / package).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            found[name] = (layer, path)
    return found


def layer_of(target, known):
    """The layer of the project module ``target`` (a dotted name), or None for anything else."""
    top = target.split(".")[0]
    if top in MODEL_FILES:
        return MODELS
    if top == "autoencoders_tutorial":
        return MACHINERY
    if top == "autoencoders_tools":
        return APPS
    return None


def _imports(tree, name):
    """``(node, dotted target, inside a function)`` for every import in ``tree`` (module ``name``)."""
    package = name if name.count(".") == 0 and name in ("autoencoders_tutorial", "autoencoders_tools") \
        else name.rsplit(".", 1)[0]

    def walk(node, inside):
        for child in ast.iter_child_nodes(node):
            within = inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield child, alias.name, within
            elif isinstance(child, ast.ImportFrom):
                base = package if child.level else ""
                for _ in range(max(0, child.level - 1)):
                    base = base.rsplit(".", 1)[0]
                target = ".".join(p for p in (base, child.module or "") if p)
                if child.module is None:  # from . import x
                    for alias in child.names:
                        yield child, f"{target}.{alias.name}", within
                else:
                    yield child, target, within
            yield from walk(child, within)

    yield from walk(tree, False)


def violations(name, layer, source, known=None):
    """Every import of module ``name`` (in ``layer``) that breaks the rules, as ``"name:line: why"`` lines."""
    known = modules() if known is None else known
    bad = []
    for node, target, inside in _imports(ast.parse(source), name):
        top = target.split(".")[0]
        where = f"{name}:{node.lineno}"
        own = layer_of(target, known)
        if (name, target) == PICKLE_SHIM:
            continue
        if own is not None:
            if inside:
                bad.append(f"{where}: imports {target} inside a function; import it at the top of the module")
            if own > layer:
                bad.append(f"{where}: imports {target} from a layer above ({own} > {layer})")
        elif inside and top not in LAZY and not (name == "autoencoders_tutorial.engine" and top == "pytensor"):
            bad.append(f"{where}: imports {target} inside a function; only optional packages ({', '.join(sorted(LAZY))}) "
                       "may be imported where they are used")
    return bad


@pytest.mark.parametrize("name", sorted(modules()))
def test_imports_sit_at_the_top_and_point_down(name):
    layer, path = modules()[name]
    assert violations(name, layer, path.read_text()) == []


def test_the_pickle_shim_holds_nothing_but_its_import():
    tree = ast.parse(modules()[PICKLE_SHIM[0]][1].read_text())
    assert [type(n).__name__ for n in tree.body] == ["Expr", "ImportFrom"]  # a docstring and the import


def test_no_modules_import_each_other_in_a_loop():
    known = modules()
    graph = {name: {t for _, t, _ in _imports(ast.parse(path.read_text()), name) if t in known and t != name}
             for name, (_, path) in known.items()}
    done, stack = set(), []

    def visit(name):
        if name in stack:
            raise AssertionError("an import loop: " + " -> ".join(stack[stack.index(name):] + [name]))
        if name in done:
            return
        stack.append(name)
        for target in sorted(graph[name]):
            visit(target)
        stack.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


@pytest.mark.parametrize("source, why", [
    ("from dA import dA\n", "from a layer above"),
    ("from autoencoders_tools.sweep import run_sweep\n", "from a layer above"),
    ("def f():\n    from .files import save_params\n", "inside a function"),
    ("def f():\n    import PIL\n", "inside a function"),
    ("class C:\n    def m(self):\n        from autoencoders_tutorial import engine\n", "inside a function"),
])
def test_the_check_finds_an_import_that_points_up_or_hides_in_a_function(source, why):
    found = violations("autoencoders_tutorial.graph", MACHINERY, source)
    assert len(found) == 1 and why in found[0]


def test_the_check_lets_optional_packages_be_imported_where_they_are_used():
    source = "def f():\n    import jax\n    from matplotlib import pyplot\n"
    assert violations("autoencoders_tutorial.graph", MACHINERY, source) == []
    assert violations("autoencoders_tools.sweep", APPS, "from SdA import SdA\nfrom autoencoders_tutorial import files\n") == []


@pytest.mark.parametrize("package", ["autoencoders_tutorial", "autoencoders_tools"])
def test_the_package_docstring_maps_every_module(package):
    doc = ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text()))
    missing = [p.stem for p in sorted((ROOT / package).glob("*.py"))
               if p.stem != "__init__" and not any(line.split()[:1] == [p.stem] for line in doc.splitlines())]
    assert missing == []
