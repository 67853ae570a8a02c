"""The layers of docs/architecture.md hold: no module imports a layer above its own, and a
capability's adapters import none of its services. Every import counts, including those inside
functions and under TYPE_CHECKING, because a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import balise

ROOT = Path(balise.__file__).parent
CAPABILITIES = ("accounts", "intake", "detection", "casework", "takedown", "evidence", "governance", "jobs", "scan",
                "orders", "exchange", "victims", "intelligence")

# Lower numbers are lower layers; a module may import its own layer or any lower one.
RANK = {"domain": 0, "ports": 1, "settings": 2, "adapters": 3, "capability-adapters": 4, "capability": 5,
        "container": 6, "demo": 7, "web": 8, "cli": 8}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]
    head = parts[0] if parts else ""
    if head in CAPABILITIES:
        if len(parts) > 1 and parts[1] in ("adapters", "ports"):
            return "capability-adapters"
        return "capability"
    if head == "migrations":
        return "adapters"
    return head


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # "from balise import demo" imports the module balise.demo
            if node.module == "balise":
                found += [f"balise.{a.name}" for a in node.names if not a.name.startswith("__")]
    return [m for m in found if m.startswith("balise.")]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if "migrations" not in p.parts]


def test_every_module_has_a_known_layer():
    unknown = {module_name(p) for p in sources() if layer_of(module_name(p)) not in RANK} - {"balise"}
    assert not unknown, f"modules outside the documented layers: {sorted(unknown)}"


def test_no_module_imports_a_layer_above_it():
    upward = []
    for path in sources():
        me = module_name(path)
        if me == "balise":
            continue
        for target in imports_of(path):
            if target == "balise":
                continue
            if RANK[layer_of(target)] > RANK[layer_of(me)]:
                upward.append(f"{me} ({layer_of(me)}) imports {target} ({layer_of(target)})")
    assert not upward, "\n".join(sorted(upward))


def test_the_cli_sub_commands_do_not_import_the_cli_entry_point():
    # cli/main.py registers the sub-command modules; they share helpers through cli/common.py.
    offenders = [module_name(p) for p in (ROOT / "cli").glob("*.py")
                 if p.stem != "main" and "balise.cli.main" in imports_of(p)]
    assert not offenders, offenders


def test_the_settings_import_no_adapter():
    assert not [t for t in imports_of(ROOT / "settings.py") if layer_of(t) not in ("domain", "ports")]
