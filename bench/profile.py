"""py-spy over the devhost under load: a flame graph (SVG) and a summary from collapsed stacks."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.procs import Registry

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

# Frame file (as py-spy prints it: relative to its sys.path entry) -> who the time belongs to.
# The first match wins: the order goes from the most specific to the most general.
_CATEGORIES = [
    ("devhost (ours: host routing, forwarding, worker shim)", ("devhost/",)),
    ("uvicorn + httptools (host's and worker's HTTP servers)", ("uvicorn/", "httptools/", "h11/")),
    ("aiohttp + yarl + multidict (host -> worker leg)", ("aiohttp/", "yarl/", "multidict/")),
    ("azure_functions_runtime (the worker)", ("azure_functions_runtime/",)),
    ("fastapi / starlette / http extension", ("fastapi/", "starlette/", "azurefunctions/", "pydantic")),
    (
        "anyio + threads (run_in_threadpool, iterate_in_threadpool)",
        ("anyio/", "concurrent/", "threading.py", "queue.py"),
    ),
    ("asyncio event loop", ("asyncio/", "selectors.py")),
    ("urllib3", ("urllib3/",)),
    ("requests", ("requests/",)),
    ("azure.functions", ("azure/functions/",)),
    ("azure storage sdk", ("azure/",)),
    ("json", ("json/",)),
    ("logging", ("logging/",)),
    ("ssl", ("ssl.py",)),
    ("http.client / email headers", ("http/", "email/")),
    ("socket", ("socket.py",)),
    ("certgate (shared/ functions/)", ("shared/", "functions/", "function_app.py")),
]
_PROCESS = re.compile(r'^process (\d+):"(.*)"$')


def py_spy() -> str | None:
    found = Path(sys.executable).parent / "py-spy"
    return str(found) if found.exists() else shutil.which("py-spy")


def record(registry: Registry, pid: int, out: Path, seconds: int, fmt: str, *, gil: bool = False) -> None:
    """Blocking sampling (consistent stacks); `gil`: only the thread holding the GIL."""
    spy = py_spy()
    if spy is None:
        raise RuntimeError("py-spy is not installed (.venv/bin/pip install py-spy)")
    argv = [spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "100", "--subprocesses"]
    argv += ["--format", fmt, "--output", str(out)] + (["--gil"] if gil else [])
    process = registry.popen("py-spy", argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    text, _ = process.communicate(timeout=seconds + 60)
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"py-spy failed ({process.returncode}): {text.decode(errors='replace')[-1500:]}")


def _category(file: str) -> str:
    short = _short(file)
    for name, prefixes in _CATEGORIES:
        if short.startswith(prefixes) or any("/" + p in short for p in prefixes):
            return name
    return "other (stdlib and the rest)"


def summarize(raw: Path, top: int = 20) -> dict[str, Any]:
    """Self time by leaf function and by package, inclusive time by function, in % of samples."""
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    category: Counter[str] = Counter()
    category_inclusive: Counter[str] = Counter()
    by_process: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        # --subprocesses: the first frames are the process tree ('process PID:"command line"').
        processes = [m.group(2) for f in frames if (m := _PROCESS.match(f))]
        frames = [f for f in frames if _FRAME.match(f) and not _PROCESS.match(f)]
        if not frames:
            continue
        total += count
        command = processes[-1] if processes else ""
        by_process["worker" if "devhost.worker" in command else "host" if command else "?"] += count
        names = []
        for frame in frames:
            m = _FRAME.match(frame)
            assert m
            names.append((m.group("func"), m.group("file")))
        func, file = names[-1]
        leaf[f"{func} ({_short(file)})"] += count
        category[_category(file)] += count
        for item in {f"{fn} ({_short(fl)})" for fn, fl in names}:
            inclusive[item] += count
        for item in {_category(fl) for _, fl in names}:
            category_inclusive[item] += count

    def pct(counter: Counter[str], n: int) -> list[list[Any]]:
        return [[k, round(100 * v / total, 1)] for k, v in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "by_process": pct(by_process, 5),
        "self_by_package": pct(category, 20),
        "inclusive_by_package": pct(category_inclusive, 20),
        "self_by_function": pct(leaf, top),
        "inclusive_by_function": pct(inclusive, top),
    }


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return re.sub(r"^.*/lib/python3\.\d+/", "", file)
