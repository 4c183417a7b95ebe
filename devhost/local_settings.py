"""local.settings.json, read the way `func start` reads it (made from the sample if missing)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def apply_local_settings(project: Path) -> Path:
    """Put `Values` into the environment; a variable already set wins (so tests and shells
    can override one setting). Returns the file used."""
    path = project / "local.settings.json"
    if not path.exists():
        shutil.copyfile(project / "local.settings.sample.json", path)
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    for name, value in values.items():
        os.environ.setdefault(name, str(value))
    return path
