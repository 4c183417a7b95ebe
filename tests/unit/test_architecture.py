"""Import direction: function_app -> functions -> shared services -> storage/gateway -> pure.
`shared` never imports azure.functions; pure modules import no storage, gateway or HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.services import PROJECT

PURE = [
    "shared/errors.py",
    "shared/identifiers.py",
    "shared/envelope.py",
    "shared/pkcs12.py",
    "shared/pkcs12_der.py",
    "shared/ca_material.py",
    "shared/policy.py",
    "shared/models.py",
    "shared/bodies.py",
    "shared/conditions.py",
    "shared/odata.py",
    "shared/listing.py",
    "shared/portal_files.py",
    "shared/gateway/routing.py",
    "shared/gateway/headers.py",
    "shared/gateway/credentials.py",
    "shared/gateway/tls.py",
]


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize(
    "path", sorted(p.relative_to(PROJECT).as_posix() for p in (PROJECT / "shared").rglob("*.py"))
)
def test_shared_never_imports_http_layers(path: str) -> None:
    for name in imports(PROJECT / path):
        assert not name.startswith(("azure.functions", "functions", "devhost", "function_app")), (path, name)


@pytest.mark.parametrize("path", PURE)
def test_pure_modules_import_only_pure_modules(path: str) -> None:
    pure = {p.removesuffix(".py").replace("/", ".") for p in PURE}
    for name in imports(PROJECT / path):
        if name.startswith("shared"):
            assert name in pure, (path, name)
        else:
            assert not name.startswith(("azure", "requests", "urllib3")), (path, name)


def test_only_config_reads_the_environment() -> None:
    for path in (PROJECT / "shared").rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, path


def test_function_app_only_registers_blueprints() -> None:
    tree = ast.parse((PROJECT / "function_app.py").read_text())
    body = [
        n for n in tree.body[1:] if not isinstance(n, (ast.Import, ast.ImportFrom))
    ]  # after the docstring
    assert isinstance(body[0], ast.Assign)  # app = func.FunctionApp(...)
    calls = [n.value for n in body[1:] if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)]
    assert len(calls) == len(body) - 1 >= 5  # one per blueprint
    assert all(isinstance(c.func, ast.Attribute) and c.func.attr == "register_functions" for c in calls)
