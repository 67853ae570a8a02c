"""The python-threatexchange extension (src/balise_exchange) is installed where HMA runs, without
Balise: it imports nothing of Balise, and pyproject declares it an extra with its pins."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_extension_imports_only_threatexchange_requests_and_cryptography():
    tree = ast.parse((ROOT / "src" / "balise_exchange" / "__init__.py").read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    third_party = roots - {"__future__", "base64", "json", "time", "typing", "dataclasses"}
    assert third_party == {"requests", "threatexchange", "cryptography"}, third_party


def test_pyproject_declares_the_exchange_extra_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = project["optional-dependencies"]["exchange"]
    assert "threatexchange==1.2.17" in extra and all("==" in req for req in extra)
    assert "threatexchange==1.2.17" in project["optional-dependencies"]["test"]
