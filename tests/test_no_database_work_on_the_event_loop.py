"""No blocking work on the event loop (issue 19 item 1): every ``async def`` of the web layer
(the API, /ispws, the staff and public pages) leaves database sessions, service calls that open
them and rate-limit stores (Redis) to a worker thread (``run_in_threadpool``), or is a plain
``def`` that FastAPI runs in its thread pool. One blocking call in an async handler stalls
every request of the process; this reads the code, so a new one fails here before it is
measured in production."""

from __future__ import annotations

import ast
from pathlib import Path

import balise.web

WEB = Path(balise.web.__file__).parent
# Attributes that are the database, or calls that open a session / reach a store.
DATABASE = {"db", "transaction", "sessions"}
BLOCKING_METHODS = {"hit", "lookup", "file", "status_by_number", "add_information_by_number", "authenticate",
                    "check", "prepare_files", "open_report", "upload", "file_details", "finish", "retract"}
# Limiters always kept in the process's memory (never Redis): /ispws failed sign-ins per address;
# a limiter's own in-memory branch on the loop (web/limits.py, RateLimiter.*_on_the_loop).
IN_MEMORY = {"failures", "in_memory"}
BLOCKING_FUNCTIONS = {"require_grant", "record_match_access", "_item_panel", "_claim_next", "_audit_hash", "_supply"}


def _offences(path: Path, root: Path = WEB.parent) -> list[str]:
    found = []
    for fn in ast.walk(ast.parse(path.read_text())):
        if not isinstance(fn, ast.AsyncFunctionDef):
            continue
        stack: list[ast.AST] = list(fn.body)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue  # a nested function is what is handed to the thread pool
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')} in {fn.name}"
            if isinstance(node, ast.Attribute) and node.attr in DATABASE:
                found.append(f"{where}: .{node.attr}")
            if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
                # An awaited call yields to the loop while it waits (an asyncio client): look
                # only at its arguments.
                stack.extend(node.value.args)
                stack.extend(k.value for k in node.value.keywords)
                continue
            if isinstance(node, ast.Call):
                func = node.func
                in_memory = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in IN_MEMORY
                if isinstance(func, ast.Attribute) and func.attr in BLOCKING_METHODS and not in_memory:
                    found.append(f"{where}: .{func.attr}() called on the event loop")
                if isinstance(func, ast.Name) and func.id in BLOCKING_FUNCTIONS:
                    found.append(f"{where}: {func.id}() called on the event loop")
            stack.extend(ast.iter_child_nodes(node))
    return found


def test_async_handlers_leave_blocking_work_to_the_thread_pool():
    offences = [o for path in sorted(WEB.rglob("*.py")) for o in _offences(path)]
    assert offences == []


def test_the_check_finds_a_blocking_call(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("async def handler(request):\n"
                      "    with request.app.state.balise.db.transaction() as session:\n"
                      "        pass\n"
                      "    request.app.state.limiter.hit('x', 'y')\n"
                      "    def work():\n"
                      "        with request.app.state.balise.db.transaction() as session:\n"
                      "            pass\n"
                      "    await run_in_threadpool(work)\n")
    # .db, .transaction and .hit() on the loop; the same in the function handed to the pool is fine.
    assert len(_offences(sample, tmp_path)) == 3


def test_an_awaited_call_yields_but_its_arguments_are_still_read(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("async def handler(request):\n"
                      "    await request.app.state.limiter.hit('x', 'y')\n"
                      "    await send(request.app.state.limiter.hit('x', 'y'))\n")
    # The first awaits an asyncio client; the second blocks to compute what it awaits.
    assert len(_offences(sample, tmp_path)) == 1
