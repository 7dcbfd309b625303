"""`domain/` imports only the standard library, eventsourcing and itself (import-linter
checks the same in .ci/test; this test keeps the rule in the suite)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ALLOWED = {"domain", "eventsourcing", "__future__"}
DOMAIN = Path(__file__).resolve().parents[2] / "domain"


def outer_imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top not in ALLOWED and top not in sys.stdlib_module_names:
                found.add(top)
    return found


def test_the_check_catches_a_driver_import():
    assert outer_imports("import asyncpg\nfrom litestar import get\n") == {"asyncpg",
                                                                        "litestar"}


def test_domain_imports_no_outer_layer_or_driver():
    offenders = {str(p.relative_to(DOMAIN)): outer_imports(p.read_text())
                 for p in DOMAIN.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
