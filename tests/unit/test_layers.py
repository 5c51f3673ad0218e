"""The layers of ARCHITECTURE.md, enforced: who may import whom, function-level imports included."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CORE = (
    "mockserver.settings",
    "mockserver.contracts",
    "mockserver.errors",
    "mockserver.answers",
    "mockserver.clock",
    "mockserver.journal",
    "mockserver.rules",
    "mockserver.faults",
    "mockserver.stubs",
    "mockserver.state",
    "mockserver.keyed_random",
    "mockserver.version",
    "mockserver.routing",
    "mockserver.models",
    "mockserver.pipeline",
)
UPPER = ("mockserver.app", "mockserver.cli", "mockserver.registry", "mockserver.__main__")

# (modules the rule applies to, modules they must not import)
RULES: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (
        CORE,
        (
            *UPPER,
            "mockserver.families",
            "mockserver.tasks",
            "mockserver.stores",
            "mockserver.recording",
            "mockserver.control",
            "mockserver.media",
            "mockserver.fuzzing",
            "mockserver.content",
            "mockserver.gateway",
        ),
    ),
    (
        ("mockserver.gateway",),
        (*UPPER, "mockserver.families", "mockserver.recording", "mockserver.control", "mockserver.fuzzing"),
    ),
    (
        ("mockserver.content",),
        (
            *UPPER,
            "mockserver.families",
            "mockserver.tasks",
            "mockserver.stores",
            "mockserver.recording",
            "mockserver.control",
            "mockserver.media",
            "mockserver.fuzzing",
            "mockserver.pipeline",
        ),
    ),
    (
        ("mockserver.tasks", "mockserver.stores"),
        (*UPPER, "mockserver.families", "mockserver.recording", "mockserver.control", "mockserver.fuzzing"),
    ),
    (
        ("mockserver.families",),
        (*UPPER, "mockserver.recording", "mockserver.control", "mockserver.fuzzing"),
    ),
    (
        ("mockserver.control", "mockserver.media"),
        (*UPPER, "mockserver.families", "mockserver.tasks", "mockserver.recording", "mockserver.fuzzing"),
    ),
    (
        ("mockserver.recording", "mockserver.fuzzing"),
        ("mockserver.cli", "mockserver.families", "mockserver.control"),
    ),
]
# The sub-commands that live beside what they drive are part of the CLI layer.
CLI_PARTS = ("mockserver.recording.commands",)
# What the pytest plugin may use: the package's public API.
PUBLIC = (
    "mockserver",
    "mockserver.app",
    "mockserver.settings",
    "mockserver.contracts",
    "mockserver.recording",
    "mockserver.testing",
    "mockserver.fuzzing",
    "mockserver.wire",
)


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for file in sorted((ROOT / package).rglob("*.py")):
        parts = list(file.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), file


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(module: str, file: Path) -> set[str]:
    """Every module `module` imports, at the top or inside a function (type-checking blocks aside)."""
    tree = ast.parse(file.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.rsplit(".", node.level)[0]
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            # `from pkg import mod` imports the module `pkg.mod`; `from mod import name` imports `mod`.
            found.update(f"{name}.{a.name}" if f"{name}.{a.name}" in ALL else name for a in node.names)
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


ALL = dict(_modules("mockserver")) | dict(_modules("pytest_plugin"))


@pytest.mark.parametrize("applies, forbidden", RULES, ids=[rule[0][0].split(".")[-1] for rule in RULES])
def test_layers(applies: tuple[str, ...], forbidden: tuple[str, ...]) -> None:
    broken = [
        f"{module} imports {name}"
        for module, file in ALL.items()
        if _under(module, applies) and not _under(module, CLI_PARTS)
        for name in sorted(imports_of(module, file))
        if _under(name, forbidden) and name in ALL
    ]
    assert not broken, "\n".join(broken)


def test_the_pytest_plugin_uses_the_public_api_only() -> None:
    broken = [
        f"{module} imports {name}"
        for module, file in ALL.items()
        if module.startswith("pytest_plugin")
        for name in sorted(imports_of(module, file))
        if name.startswith("mockserver") and name in ALL and not _under(name, PUBLIC[1:]) and name != "mockserver"
    ]
    assert not broken, "\n".join(broken)


def test_no_import_circles() -> None:
    graph = {
        module: {name for name in imports_of(module, file) if name in ALL and name != module}
        for module, file in ALL.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                circles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_checker_sees_function_level_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\ndef f():\n    from c import d\n"
    )
    assert imports_of("pkg.sample", sample) == {"typing", "c"}
