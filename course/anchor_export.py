"""``course anchor export DIR``: the learner's service as a repository of its own.

The course keeps the anchor as one package among many, run by the course's environment. A
portfolio piece must stand alone: clone, ``pip install -e ".[dev]"``, set ``DATABASE_URL`` and
``REDIS_URL``, ``pytest anchor/tests`` — and its CI, image and deployment template work from there.
So the export copies the package as it is (code, migrations, tests, ``deploy/``, README) and writes
what only a standalone repository needs:

* ``pyproject.toml`` whose dependencies are what the package really imports — found by reading
  its imports, named as the course's own ``pyproject.toml`` names them (with their extras), so
  nothing the code needs is missing and nothing it does not need is dragged along;
* ``.github/workflows/ci.yml`` from ``anchor/deploy/ci.yml``, the root ``README.md``,
  ``.gitignore`` and ``.dockerignore``.

Parts of the service the learner has not written yet (the Dockerfile of week 14, the template of
week 15) are listed, not invented: the export says what is missing.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from course.anchor import AnchorError, package_root
from course.paths import REPO_ROOT

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", "mistakes")
# What a complete service carries; missing ones are reported, never made up.
EXPECTED = ("anchor/README.md", "anchor/deploy/Dockerfile", "anchor/deploy/compose.yaml",
            "anchor/deploy/stack.yaml", "anchor/deploy/ci.yml", "anchor/tests/conftest.py")
# Needed at run time but never imported by name: the form parser FastAPI loads for the token
# endpoint; the driver SQLAlchemy loads from the URL's scheme and the greenlet its asyncio needs.
IMPLIED = {"fastapi": ("python-multipart",), "sqlalchemy": ("greenlet", "psycopg")}
DEV_TOOLS = ("pytest", "anyio", "ruff", "mypy", "cfn-lint")
PYTHON = ">=3.11"
# Used when present, never needed: the anchor's tests take checkov from the course when it is there
# (``try: from course.tools import …`` / ``except ImportError``) and from the PATH elsewhere.
OPTIONAL = {"course"}


@dataclass(frozen=True)
class Export:
    """What was written, and what the service does not have yet."""

    path: Path
    dependencies: tuple[str, ...]
    dev_dependencies: tuple[str, ...]
    missing: tuple[str, ...]


def imported_modules(files: list[Path]) -> set[str]:
    """Top-level modules imported by ``files`` (absolute imports only; relative ones are the package)."""
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"anchor", "__future__"} - OPTIONAL


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def course_requirements() -> dict[str, str]:
    """The course's own requirement for each distribution (canonical name → ``name[extras]>=x``)."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    requirements: dict[str, str] = {}
    for requirement in project.get("dependencies", []):
        name = re.match(r"[A-Za-z0-9._-]+", requirement)
        if name:
            requirements[_canonical(name[0])] = requirement
    return requirements


def distributions_for(modules: set[str]) -> set[str]:
    """The installed distributions that provide ``modules`` (plus what they imply)."""
    providers = importlib.metadata.packages_distributions()
    distributions: set[str] = set()
    for module in modules:
        if module not in providers:
            raise AnchorError(f"the anchor imports {module!r}, which no installed distribution provides; "
                              "install it, or remove the import")
        distributions.add(providers[module][0])
        distributions |= set(IMPLIED.get(module, ()))
    return distributions


def requirements(distributions: set[str]) -> list[str]:
    """Each distribution as the course's ``pyproject.toml`` requires it, else ``name>=installed``."""
    known = course_requirements()
    result = []
    for distribution in sorted(distributions, key=_canonical):
        requirement = known.get(_canonical(distribution))
        if requirement is None:
            version = importlib.metadata.version(distribution)
            requirement = f"{_canonical(distribution)}>={'.'.join(version.split('.')[:2])}"
        result.append(requirement)
    return result


def pyproject(runtime: list[str], dev: list[str]) -> str:
    def lines(items: list[str]) -> str:
        return "\n".join(f'  "{item}",' for item in items)

    return f"""[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "anchor"
version = "1.0.0"
description = "Webhook delivery: signed, retried, observable; PostgreSQL as truth, Redis streams"
readme = "README.md"
requires-python = "{PYTHON}"
dependencies = [
{lines(runtime)}
]

[project.optional-dependencies]
dev = [
{lines(dev)}
]

[tool.hatch.build.targets.wheel]
packages = ["anchor"]

[tool.pytest.ini_options]
testpaths = ["anchor/tests"]
addopts = "-ra --strict-markers"

[tool.ruff]
line-length = 110
target-version = "py311"

[tool.mypy]
python_version = "3.11"
ignore_missing_imports = true
"""


README = """# anchor

A webhook delivery service: tenants register endpoints and send events; anchor stores them,
signs them (Standard Webhooks), delivers, retries on Svix's schedule, disables endpoints that keep
failing, and records every attempt.

## Run it

```bash
python -m pip install -e ".[dev]"
export ANCHOR_DATABASE_URL=postgresql://user:password@127.0.0.1:5432/anchor
export ANCHOR_REDIS_URL=redis://127.0.0.1:6379/0
export ANCHOR_JWT_SECRET=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')
python -m anchor.migrations upgrade
python -m anchor.api --port 8000 &            # the API; docs at http://127.0.0.1:8000/docs
python -m anchor.workers.relay &              # outbox → stream
python -m anchor.workers.worker &             # stream → signed POSTs
python -m anchor.workers.scheduler &          # due retries → stream
```

## Test it

```bash
DATABASE_URL=postgresql://user:password@127.0.0.1:5432/anchor_test \\
REDIS_URL=redis://127.0.0.1:6379/15 python -m pytest anchor/tests
```
"""
GITIGNORE = "\n".join(["__pycache__/", "*.pyc", ".venv/", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/",
                       "*.egg-info/", "dist/", ".env", ""])
DOCKERIGNORE = "\n".join([".git", ".github", ".venv", "**/__pycache__", "**/*.pyc", ".pytest_cache",
                          ".mypy_cache", ".ruff_cache", ".env", ""])


def export(destination: Path) -> Export:
    """Write the standalone repository into ``destination`` (new or empty)."""
    source = package_root() / "anchor"
    if not (source / "__init__.py").is_file():
        raise AnchorError(f"there is no anchor package in {source.parent}; "
                          "fix: `course anchor export DIR --solutions` exports the reference")
    if destination.exists() and any(destination.iterdir()):
        raise AnchorError(f"{destination} is not empty; choose a new folder (the export never overwrites)")
    code = [p for p in source.rglob("*.py") if "tests" not in p.relative_to(source).parts
            and "mistakes" not in p.parts and "__pycache__" not in p.parts]
    tests = [p for p in source.rglob("*.py") if "tests" in p.relative_to(source).parts
             and "__pycache__" not in p.parts]
    runtime_distributions = distributions_for(imported_modules(code))
    runtime = requirements(runtime_distributions)
    runtime_names = {_canonical(d) for d in runtime_distributions}
    dev = requirements({d for d in distributions_for(imported_modules(tests)) | set(DEV_TOOLS)
                        if _canonical(d) not in runtime_names})
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, destination / "anchor", ignore=IGNORED)
    (destination / "pyproject.toml").write_text(pyproject(runtime, dev))
    readme = source / "README.md"
    (destination / "README.md").write_text(readme.read_text() if readme.is_file() else README)
    (destination / ".gitignore").write_text(GITIGNORE)
    (destination / ".dockerignore").write_text(DOCKERIGNORE)
    workflow = source / "deploy" / "ci.yml"
    if workflow.is_file():
        (destination / ".github" / "workflows").mkdir(parents=True)
        shutil.copyfile(workflow, destination / ".github" / "workflows" / "ci.yml")
    missing = tuple(name for name in EXPECTED if not (destination / name).is_file())
    return Export(destination, tuple(runtime), tuple(dev), missing)
