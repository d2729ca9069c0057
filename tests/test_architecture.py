"""The layout README.md's "Architecture" section describes, checked against the code: each
module imports only its own floor and the floors below (imports inside functions included),
there is no import circle, and no function is over 80 lines nor a module over 600."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "fastlin"

# (module prefix, floor), the longest matching prefix wins; the README's table, bottom up
FLOORS = [
    ("fastlin._kernels", 2),
    ("fastlin.parallel", 3), ("fastlin._timing", 3), ("fastlin._atomic", 3),
    ("fastlin._interrupt", 3), ("fastlin._params", 3), ("fastlin.init", 3),
    ("fastlin._summary", 3), ("fastlin._csv", 3), ("fastlin._cli_options", 3), ("fastlin.data", 3), ("fastlin._checks", 3),
    ("fastlin._estimator", 3),
    ("fastlin.backend", 4),
    ("fastlin.layers", 5), ("fastlin.losses", 5), ("fastlin.optim", 5), ("fastlin._sparse", 5),
    ("fastlin._penalized", 5), ("fastlin._nnls", 5), ("fastlin._least_squares", 5),
    ("fastlin._lbfgsb", 5), ("fastlin._lbfgs", 5), ("fastlin._linesearch", 4),
    ("fastlin.training", 6), ("fastlin.callbacks", 6),
    # the writer and the format know no model class (models describe themselves), so they sit
    # below the models; the loader builds models and sits above them
    ("fastlin.io._writer", 6), ("fastlin.io._schema", 6), ("fastlin.io._format", 6),
    ("fastlin.io._bounded", 6), ("fastlin.io._weights", 6),
    ("fastlin.sequential", 7), ("fastlin._model_habits", 7), ("fastlin.linear", 7),
    ("fastlin.io", 8), ("fastlin.export", 8),
    ("fastlin.sklearn", 9), ("fastlin.cli", 9), ("fastlin.benchmarks", 9),
    ("fastlin.__main__", 9), ("fastlin", 9),
]


def _modules():
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        mods[name] = path
    return mods


MODULES = _modules()


def _resolve(name):
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(module):
    """The fastlin modules `module` imports, anywhere in its body, with the line of each."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(_resolve(a.name), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for a in node.names:
                if a.name.startswith("__"):  # __version__: a constant, not a floor
                    continue
                full = f"{base}.{a.name}"
                found.append((full if full in MODULES else _resolve(base), node.lineno))
    return [(m, line) for m, line in found if m.startswith("fastlin") and m != module]


def _floor(module):
    best = max((p for p, _ in FLOORS if module == p or module.startswith(p + ".")), key=len)
    return dict(FLOORS)[best]


def test_every_module_has_a_floor():
    assert all(_floor(m) for m in MODULES)


def test_nothing_imports_up():
    upward = [f"{m} (floor {_floor(m)}) imports {t} (floor {_floor(t)}) at line {line}"
              for m in MODULES for t, line in _imports(m) if _floor(t) > _floor(m)]
    assert not upward, "\n".join(upward)


def test_no_import_circle():
    graph = {m: {t for t, _ in _imports(m)} for m in MODULES}
    # a package's __init__ re-exporting its submodules is not a circle with them
    for m in graph:
        graph[m] = {t for t in graph[m] if not (t.startswith(m + ".")
                                                 and MODULES[m].name == "__init__.py")}
    state, stack, circles = {}, [], []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                circles.append(stack[stack.index(t):] + [t])
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_sizes(module):
    source = MODULES[module].read_text()
    assert source.count("\n") <= 600, f"{module} has {source.count(chr(10))} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= 80, f"{module}.{node.name} has {length} lines"
