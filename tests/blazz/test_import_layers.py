"""Imports point one way (DESIGN §3): each layer imports only the layers below it, function-
local imports included. The test parses every product module with `ast`, so an import
hidden inside a function counts as much as one at the top. When a lower layer needs a
higher one, it defines a port (sessions_app/listeners.py, messaging's transport registry)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("blazz", "accounts", "sessions_app", "messaging", "campaigns", "health", "wasim")

# From the bottom. The WhatsApp Web transport is the part of sessions_app that drives
# browsers; the rest of sessions_app (the number, workers, reconciliation) is below messaging.
TRANSPORT = ("sessions_app.webjs", "sessions_app.tasks")
LAYERS = [
    ("blazz",),
    ("accounts",),
    ("sessions_app",),
    ("messaging",),
    ("campaigns",),
    TRANSPORT,
    ("health",),
]
# Where the project is put together: settings, URL confs, ASGI/WSGI and Celery apps may name
# every app (they import nothing back).
COMPOSITION_ROOTS = {
    "blazz.settings",
    "blazz.urls",
    "blazz.api_urls",
    "blazz.routing",
    "blazz.asgi",
    "blazz.wsgi",
    "blazz.celery",
}


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer): the longest prefix wins
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def is_wrong_way(source: str, target: str) -> bool:
    if source.startswith("wasim"):
        return not target.startswith("wasim")  # the simulator imports no product code
    if target.startswith("wasim"):
        return True  # and nothing imports the simulator
    mine, theirs = layer_of(source), layer_of(target)
    return mine is not None and theirs is not None and theirs > mine


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    return imports_of_source(path.read_text(encoding="utf-8"), package=package)


def imports_of_source(source: str, *, package: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from sessions_app import services` names a module, not just the package.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES}


def wrong_way_imports() -> set[tuple[str, str]]:
    wrong: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = module_name(path)
            if source in COMPOSITION_ROOTS:
                continue
            wrong.update(
                (source, _owner(target)) for target in imports_of(path) if is_wrong_way(source, target)
            )
    return wrong


def _owner(target: str) -> str:
    """`messaging.services.chat_send` -> `messaging.services` (the module, when it exists)."""
    parts = target.split(".")
    while len(parts) > 1 and not (
        (ROOT.joinpath(*parts).with_suffix(".py")).exists()
        or (ROOT.joinpath(*parts) / "__init__.py").exists()
    ):
        parts.pop()
    return ".".join(parts)


def test_every_import_points_down_the_layer_order():
    wrong = wrong_way_imports()
    assert not wrong, "imports against the layer order (DESIGN §3):\n" + "\n".join(
        f"  {source} imports {target}" for source, target in sorted(wrong)
    )


@pytest.mark.parametrize(
    ("source", "target", "wrong"),
    [
        ("sessions_app.services.reconcile", "messaging.services", True),  # core under messaging
        (
            "sessions_app.services.common",
            "sessions_app.webjs.host.session_host",
            True,
        ),  # core under transport
        ("messaging.services", "sessions_app.services.workers", False),
        ("sessions_app.webjs.page_events", "messaging.services", False),  # the transport is above
        ("campaigns.api", "health.selectors", True),
        ("blazz.realtime", "accounts.models", True),
        ("health.selectors", "campaigns.models", False),
        ("wasim.hub", "sessions_app.models", True),
        ("sessions_app.webjs.driver.page", "wasim.server", True),
    ],
)
def test_it_judges_each_direction(source, target, wrong):
    assert is_wrong_way(source, target) is wrong


def test_it_sees_a_function_local_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from messaging.services import chat_send\n")
    assert "messaging.services" in imports_of_source(module.read_text(), package="sessions_app.services")
