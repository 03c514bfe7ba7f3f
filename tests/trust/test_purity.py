"""The trust core stays pure: no module under jobber.trust may import I/O, clocks or globals."""

from __future__ import annotations

import ast
from pathlib import Path

import jobber.trust

FORBIDDEN = {
    "asyncio", "datetime", "http", "httpx", "io", "logging", "os", "os_ken", "pathlib",
    "pydantic", "random", "requests", "select", "shutil", "socket", "sqlalchemy", "ssl",
    "subprocess", "sys", "tempfile", "threading", "time", "urllib", "uvicorn", "fastapi",
    "multiprocessing", "concurrent", "numpy", "yaml",
}
FORBIDDEN_CALLS = {"open", "print", "input", "exec", "eval", "__import__"}
ROOT = Path(jobber.trust.__file__).parent


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [f"{path.name}:{node.lineno} imports {n}" for n in names
                  if n.split(".")[0] in FORBIDDEN]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in FORBIDDEN_CALLS):
            found.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
    return found


def test_every_trust_module_is_pure() -> None:
    modules = sorted(ROOT.rglob("*.py"))
    assert len(modules) >= 9
    problems = [v for m in modules for v in _violations(m)]
    assert problems == []


def test_the_check_catches_an_impure_module(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom logging import getLogger\nprint(open('x'))\n")
    assert len(_violations(bad)) == 4
