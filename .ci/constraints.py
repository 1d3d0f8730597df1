"""Print pip constraints pinning every requirement in pyproject.toml (and its test extra) to its
floor: `.ci/run --versions lowest` installs exactly the oldest versions the project declares."""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
requirements = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["test"]
for text in requirements:
    match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([^,\s]+)(,.*)?", text.strip())
    if not match:
        sys.exit(f"pyproject.toml: {text!r} has no '>=' floor to pin")
    name = match[1].split("[")[0]
    print(f"{name}=={match[2]}")
