"""The built wheel is the product: installed from it (not editable), away from the source tree, it works.

An editable install reads data files from the repository, so a file missing from the package data only
shows in a real install (the Docker image answered 500 to every card that suggests an order when
``service/cards/orderables.json`` was left out). This test builds the wheel from a copy of the source,
installs it into a fresh virtual environment and drives the installed command from another directory.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # builds a wheel, installs it with its dependencies, starts the server

REPO = Path(__file__).resolve().parents[1]
ORDER_EXAMPLE = "monitoring-overdue"  # its cards suggest ServiceRequests built from orderables.json
NOT_SHIPPED = ("tests/", "tools/", "bench/", "examples/", "docs/")
_SKIP_COPY = shutil.ignore_patterns(
    ".git", ".venv", "venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    workdir: Path  # neither the repository nor the source copy

    @property
    def command(self) -> Path:
        return self.venv / "bin" / "bone-health-cds"

    def env(self, **extra: str) -> dict[str, str]:
        """The caller's environment without anything that could import the repository or change settings."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BHCDS_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return {**env, **extra}

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.command), *args],
            cwd=self.workdir,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source, dist, venv, workdir = root / "src", root / "dist", root / "venv", root / "work"
    # Build from a copy: an in-tree build would leave build/ and *.egg-info in the working tree.
    shutil.copytree(REPO, source, ignore=_SKIP_COPY)
    workdir.mkdir()
    _check(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(source)],
        cwd=workdir,
        timeout=180,
    )
    (wheel,) = dist.glob("bone_health_cds-*.whl")
    _check([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=workdir, timeout=60)
    # The running pip installs into the new environment (faster than bootstrapping pip inside it).
    _check(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--quiet",
            str(wheel),
        ],
        cwd=workdir,
        timeout=300,
    )
    return Installed(wheel=wheel, venv=venv, workdir=workdir)


def _check(argv: list[str], *, cwd: Path, timeout: float) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv[:4]} failed:\n{done.stdout}\n{done.stderr}"


def test_the_wheel_ships_every_data_file_the_runtime_reads(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    expected = {
        "service/cards/orderables.json",
        "service/alembic.ini",
        "service/migrations/env.py",
        "mappings/valuesets/names.json",
        *(
            p.relative_to(REPO).as_posix()
            for pattern in (
                "service/cards/*.json",
                "service/cards/wording/*/*.yaml",
                "service/rule_pages/*.json",
                "service/rule_pages/*.css",
                "service/migrations/versions/*.py",
                "mappings/valuesets/*.json",
            )
            for p in REPO.glob(pattern)
        ),
    }
    assert expected <= names, sorted(expected - names)


def test_the_wheel_ships_no_development_files(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        assert not [n for n in names if n.startswith(NOT_SHIPPED)]
        assert {n.split("/")[0] for n in names if "/" in n} <= {
            "cds_hooks",
            "mappings",
            "service",
            "bone_health_cds-0.1.0.dist-info",
        }
        readers = [n for n in names if n.endswith(".py") and _reads_shared(wheel.read(n).decode())]
    assert not readers, readers


def _reads_shared(source: str) -> bool:
    """A string literal of the code (docstrings and comments name provenance only) that is a path to shared/."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return any(
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and (
            "../shared" in node.value or node.value.strip("/") == "shared" or node.value.startswith("shared/")
        )
        for node in ast.walk(tree)
    )


def test_the_shared_folder_check_finds_a_reader() -> None:
    assert _reads_shared('from pathlib import Path\nPath(__file__).parents[2] / "shared" / "x.csv"\n')
    assert _reads_shared('open("../shared/terminology/codes.csv")\n')
    assert not _reads_shared(
        '"""Codes verified in ../shared/terminology."""\nX = 1  # from shared/terminology\n'
    )


def test_the_installed_package_is_the_wheel_not_the_source(installed: Installed) -> None:
    python = installed.venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", "import service, mappings, cds_hooks; print(service.__file__)"],
        cwd=installed.workdir,
        env=installed.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).is_relative_to(installed.venv), done.stdout


def test_the_installed_command_runs_from_another_directory(installed: Installed) -> None:
    help_ = installed.run("--help")
    assert help_.returncode == 0, help_.stderr
    assert "serve" in help_.stdout and "rules" in help_.stdout

    rules = installed.run("rules")
    assert rules.returncode == 0, rules.stderr
    assert rules.stdout.startswith("# Rule reference")
    assert "## `denosumab-sequencing-missing`" in rules.stdout
    assert "`bisphosphonate_min_renal_function` = 35.0" in rules.stdout


@pytest.fixture
def server(installed: Installed) -> Iterator[str]:
    port = _free_port()
    log = installed.workdir / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(installed.command), "serve", "--no-workers", "--host", "127.0.0.1", "--port", str(port)],
            cwd=installed.workdir,
            env=installed.env(
                BHCDS_AUTH_ENABLED="false",
                BHCDS_DATABASE_URL=f"sqlite:///{installed.workdir / 'wheel.db'}",
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"serve exited:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"serve did not come up:\n{log.read_text()}"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_hook_call_through_the_installed_server_suggests_an_order(server: str) -> None:
    documented = json.loads((REPO / "examples" / f"{ORDER_EXAMPLE}.cards.json").read_text())
    request = urllib.request.Request(
        f"{server}/cds-services/{documented['service']}",
        data=(REPO / "examples" / f"{ORDER_EXAMPLE}.json").read_bytes(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    assert status == 200, body.decode()
    created = [
        action["resource"]
        for card in json.loads(body)["cards"]
        for suggestion in card.get("suggestions", [])
        for action in suggestion.get("actions", [])
        if action["type"] == "create"
    ]
    assert created, body.decode()
    codings = [c for r in created for c in r["code"]["coding"]]
    assert all(c.get("system") and c.get("code") for c in codings), codings


def test_the_installed_server_serves_the_rule_pages_with_their_examples(server: str) -> None:
    with urllib.request.urlopen(f"{server}/rules/tzd-fracture-risk?lang=zh", timeout=30) as response:
        page = response.read().decode()
    assert '<article class="card ' in page  # examples.json shipped
    assert "<code>312440</code>" in page  # the value set expansion (mappings/valuesets/tzd.json) read
    with urllib.request.urlopen(f"{server}/rules/static/style.css", timeout=30) as response:
        assert response.status == 200 and b"@media" in response.read()
