"""The Azure Python worker's own indexing and validation, run over function_app.py: what
`func start` and Azure do at start-up. A handler signature the worker rejects fails here."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.services import PROJECT, TEST_KEY_RING

# The worker gets its protobuf types from the host; indexing only needs these names.
SCRIPT = textwrap.dedent(
    """
    import types
    from azure_functions_runtime import loader
    from azure_functions_runtime.bindings.meta import load_binding_registry
    from azure_functions_runtime.functions import Registry

    class BindingInfo:
        undefined, string, binary, stream = 0, 1, 2, 3
        inout, out = 2, 1
        def __init__(self, **kw): self.__dict__.update(kw)

    protos = types.SimpleNamespace(
        BindingInfo=BindingInfo,
        RpcRetryOptions=lambda **kw: kw,
        RpcFunctionMetadata=lambda **kw: kw,
    )
    load_binding_registry()  # as the worker does on its init request
    indexed = loader.index_function_app("function_app.py")
    results, _ = loader.process_indexed_function(protos, Registry(), indexed, ".")
    for meta in results:
        binding = meta["bindings"]
        print(meta["name"], sorted(binding))
    """
)


def run_indexing(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )


def test_worker_indexes_every_function() -> None:
    result = run_indexing({**os.environ, "CERTGATE_ENCRYPTION_KEYS": TEST_KEY_RING})
    assert result.returncode == 0, result.stderr
    names = {line.split()[0] for line in result.stdout.splitlines()}
    assert names == {
        "put_certificate",
        "get_certificate",
        "list_certificates",
        "delete_certificate",
        "put_api",
        "get_api",
        "list_apis",
        "delete_api",
        "get_api_policy",
        "forward_gateway",
        "get_health",
        "get_openapi",
    }


def test_app_refuses_to_start_without_key_ring() -> None:
    env = {k: v for k, v in os.environ.items() if k != "CERTGATE_ENCRYPTION_KEYS"}
    result = run_indexing(env)
    assert result.returncode != 0
    assert "CERTGATE_ENCRYPTION_KEYS is not set" in result.stderr
