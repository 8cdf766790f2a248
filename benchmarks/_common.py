"""Helpers shared by the benchmark scripts: result files and markdown tables."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, markdown: str, data: dict) -> Path:
    """Write ``results/<name>.md`` (human) and ``results/<name>.json`` (machine), return the markdown path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    md = RESULTS / f"{name}.md"
    md.write_text(f"<!-- written by benchmarks/{name}.py on {stamp}; {machine()} -->\n\n{markdown}\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({"written": stamp, "machine": machine(), **data}, indent=1))
    return md
