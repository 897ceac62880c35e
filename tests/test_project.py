"""The repository's own set-up: what a reader cloning it meets first."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string."""
    name = re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    wanted = {_name(r): r for r in project["dependencies"]}
    for extra in ("book", "test"):
        wanted |= {_name(r): r for r in project["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r): r for r in pip_section if not r.startswith("-e")}
    assert set(listed) == set(wanted), (
        f"only in environment.yml: {sorted(set(listed) - set(wanted))}; "
        f"only in pyproject.toml: {sorted(set(wanted) - set(listed))}"
    )
    for name, requirement in wanted.items():
        assert listed[name].replace(" ", "") == requirement.replace(" ", ""), name
    assert any(str(d).startswith("nodejs") for d in env["dependencies"]), "Node.js for make book"


def test_runtime_dependencies_are_ranges_so_colab_keeps_its_torch():
    for requirement in _pyproject()["project"]["dependencies"]:
        assert "==" not in requirement, f"{requirement}: pin a range, not a version"
    assert "torch>=2.3" in _pyproject()["project"]["dependencies"]


def test_site_assets_are_exact_pins_with_a_lock_file():
    import json

    package = json.loads((ROOT / "book" / "package.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}@{version}: pin exactly"
    lock = json.loads((ROOT / "book" / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_make_help_lists_every_readme_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    for target in ("book", "test", "execute", "lint", "clean", "check-site"):
        assert re.search(rf"make {target}\b", out), f"make help does not list {target}"


def test_ci_runs_the_readme_test_command_and_the_site_check():
    script = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script
    assert "make test" in script and "make check-site" in script
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make book" in readme


def test_make_book_without_npm_says_what_to_install(tmp_path):
    """With no npm on PATH, the web-asset step stops with a message naming Node.js."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "cp", "rm", "mkdir", "mv", "touch", "test", "grep", "awk"):
        real = subprocess.run(["bash", "-c", f"command -v {tool}"], capture_output=True,
                              text=True).stdout.strip()
        if real:
            (bin_dir / tool).symlink_to(real)
    result = subprocess.run(
        [shutil.which("make"), "-s", "-B", "book/_vendor/.installed", "--no-print-directory"],
        cwd=ROOT, capture_output=True, text=True, env={"PATH": str(bin_dir)},
    )
    assert result.returncode != 0
    assert "Node.js" in result.stdout + result.stderr
