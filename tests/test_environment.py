"""pyproject.toml is the one source of truth: environment.yml, binder/ and the install agree."""

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def conda_env(path: Path) -> tuple[list[str], list[str]]:
    """Return the conda and the pip entries of an environment file."""
    spec = yaml.safe_load(path.read_text())
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    return conda, pip


def python_pin(conda: list[str]) -> str:
    return next(d.split("=", 1)[1] for d in conda if d.startswith("python="))


@pytest.mark.parametrize("path, extras", [("environment.yml", ["test"]),
                                          ("binder/environment.yml", [])])
def test_environment_files_list_exactly_the_pyproject_requirements(path, extras):
    conda, pip = conda_env(REPO / path)
    wanted = list(PROJECT["dependencies"]) + [r for e in extras
                                              for r in PROJECT["optional-dependencies"][e]]
    assert [p for p in pip if not p.startswith("-e")] == wanted
    assert SpecifierSet(PROJECT["requires-python"]).contains(python_pin(conda) + ".0")


def test_binder_installs_the_package_from_this_checkout():
    post_build = (REPO / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build


def test_installed_packages_satisfy_pyproject():
    problems = []
    for text in PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]:
        requirement = Requirement(text)
        names = [requirement.name]
        if requirement.name == "tensorflow":
            names.append("tensorflow-cpu")  # the CPU build is the same package for the course
        versions = []
        for name in names:
            try:
                versions.append(metadata.version(name))
            except metadata.PackageNotFoundError:
                pass
        if not any(requirement.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{text}: installed {versions or 'nothing'}")
    assert not problems, "installed packages do not match pyproject.toml: " + "; ".join(problems)


def test_course_utils_is_the_installed_package():
    import course_utils

    assert Path(course_utils.__file__).resolve().parent == REPO / "course_utils"
    assert metadata.version("siamese-course") == PROJECT["version"]
