"""requirements.txt is what production installs, and only that (issue 16: "test tools are
installed into production from the one requirements.txt"); requirements-dev.txt adds the
tools of development and tests on top of it."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(settings.BASE_DIR)
# The code production runs. wasim/ is the WhatsApp Web simulator, a test double that
# production settings never install (BLAZZ_WASIM_INSTALLED follows DEBUG).
RUNTIME_PACKAGES = ("accounts", "blazz", "campaigns", "health", "messaging", "sessions_app")
FIRST_PARTY = {*RUNTIME_PACKAGES, "wasim", "tests", "bench", "manage"}
DEV_TOOLS = {
    "pytest",
    "pytest-django",
    "pytest-asyncio",
    "pytest-cov",
    "coverage",
    "factory-boy",
    "faker",
    "hypothesis",
    "schemathesis",
    "ruff",
    "bandit",
    "pip-audit",
    "mypy",
    "honcho",
    "moto",
}


def pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of a requirements file's `name==version` lines."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{path.name}: {line} is not pinned"
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


RUNTIME = pins(ROOT / "requirements.txt")
DEV = pins(ROOT / "requirements-dev.txt")


def test_production_requirements_hold_no_test_or_development_tool():
    assert not DEV_TOOLS & set(RUNTIME), f"in requirements.txt: {sorted(DEV_TOOLS & set(RUNTIME))}"


def test_development_requirements_add_to_the_runtime_set_without_repeating_it():
    lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    assert not set(DEV) & set(RUNTIME), f"pinned twice: {sorted(set(DEV) & set(RUNTIME))}"
    assert {"pytest", "pytest-django", "factory-boy", "ruff", "bandit"} <= set(DEV)


def dependencies_of(name: str) -> set[str]:
    try:
        requires = distribution(name).requires or []
    except PackageNotFoundError:
        return set()
    needed = set()
    for line in requires:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue  # an extra, or another platform
        needed.add(canonicalize_name(requirement.name))
    return needed


def test_the_runtime_set_pins_everything_its_packages_need():
    """A production install resolves nothing unpinned: every dependency of a runtime pin (as
    installed here) is itself pinned in requirements.txt."""
    missing = {
        f"{dependency} (needed by {name})"
        for name in RUNTIME
        for dependency in dependencies_of(name)
        if dependency not in RUNTIME
    }
    assert not missing, sorted(missing)


def imported_top_level_names(package: Path) -> dict[str, str]:
    """{top-level module: first file importing it} over every import, function-local ones too."""
    found: dict[str, str] = {}
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_import_of_the_runtime_code_is_satisfied_by_the_runtime_requirements():
    distributions_of = packages_distributions()
    unsatisfied = []
    imported: dict[str, str] = {}
    for package in RUNTIME_PACKAGES:
        imported |= imported_top_level_names(ROOT / package)
    for module, where in sorted(imported.items()):
        if module in sys.stdlib_module_names or module in FIRST_PARTY:
            continue
        providers = {canonicalize_name(name) for name in distributions_of.get(module, [])}
        if not providers & set(RUNTIME):
            unsatisfied.append(
                f"{module} (imported by {where}; installed from {sorted(providers) or 'nothing'})"
            )
    assert not unsatisfied, unsatisfied
