"""Helpers shared by the benchmark scripts: result files and markdown tables."""

from __future__ import annotations

import json
import platform
import time
import warnings
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


def changed_options(args, defaults: dict) -> str:
    """`` --name value`` for each option in ``defaults`` whose value in ``args`` differs from its default: the part
    of a results file's command that is not the script's default."""
    return "".join(f" --{name.replace('_', '-')} {getattr(args, name)}" for name, default in defaults.items()
                   if getattr(args, name) != default)


def write_results(name: str, markdown: str, data: dict, script: str | None = None) -> Path:
    """Write ``results/<name>.md`` (human) and ``results/<name>.json`` (machine), return the markdown path;
    ``script`` names the writer when it is not ``benchmarks/<name>.py``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    md = RESULTS / f"{name}.md"
    md.write_text(f"<!-- written by {script or f'benchmarks/{name}.py'} on {stamp}; {machine()} -->\n\n{markdown}\n")
    (RESULTS / f"{name}.json").write_text(json.dumps({"written": stamp, "machine": machine(), **data}, indent=1))
    return md


def cached_rows(path: Path) -> list[dict]:
    """The rows of a JSON-lines cache.  A last line cut short (the process was killed while writing it) is left out
    with a warning, so the benchmark runs that one again; a bad line anywhere else is an error naming it."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines):
                warnings.warn(f"{path}: its last line is cut short (a run killed while it was written); that run "
                              f"is not cached and will run again")
                continue
            raise ValueError(f"{path}, line {number}: not a JSON row ({error}); the cache is corrupt there") from None
    return rows


def read_cached_runs(path: Path, keys: tuple[str, ...]) -> dict:
    """The rows of a JSON-lines cache, keyed by the tuple of their ``keys`` fields (a later row wins)."""
    return {tuple(row[k] for k in keys): row for row in cached_rows(path)}


def append_cached_run(path: Path, row: dict) -> None:
    """Append one finished run to a JSON-lines cache (a killed benchmark keeps every run it finished).  A last line
    cut short by an earlier kill is dropped first, so the new row starts a line of its own."""
    path.parent.mkdir(exist_ok=True)
    if path.exists() and path.stat().st_size:
        with path.open("rb+") as handle:
            handle.seek(-1, 2)
            if handle.read(1) != b"\n":  # rare: read the file once to find where the whole lines end
                handle.seek(0)
                whole = handle.read().rfind(b"\n") + 1
                handle.truncate(whole)
    with path.open("a") as handle:
        handle.write(json.dumps(row) + "\n")


def run_and_cache(function, calls: list[tuple], workers: int, path: Path, keys: tuple[str, ...], runs: dict,
                  describe) -> None:
    """Run ``function(*call)`` for every call in a process pool; each finished row goes into ``runs`` (by its
    ``keys``) and the cache at ``path`` at once, and ``describe(row)`` is printed with the progress."""
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(function, *call) for call in calls]
        for done, future in enumerate(as_completed(futures), 1):
            row = future.result()
            runs[tuple(row[k] for k in keys)] = row
            append_cached_run(path, row)
            print(f"[{done}/{len(calls)}] {describe(row)}", flush=True)
