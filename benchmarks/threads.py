"""The main job on a busy machine: wall time of ``gpnas search`` (real training of MobileNetV3 children, one epoch on
the MNIST sample) on a quiet machine, and while another CPU-bound process keeps one core busy, with the threads the
search chooses (the cores free when it starts) and with every core (torch's default, what it did before).

Each setting runs ``--repeats`` times (the median is reported); the competing process is a Python busy loop, started
before the search and killed after it.  Writes ``results/threads.md`` and ``results/threads.json``.

    python benchmarks/threads.py [--budget 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

BUSY = "while True: pass"


def run_search(budget: int, threads: int | None, busy: bool) -> tuple[float, str]:
    """Wall seconds of one search, and the line that says the device and threads it trained with."""
    competitor = subprocess.Popen([sys.executable, "-c", BUSY]) if busy else None
    try:
        if busy:
            time.sleep(1.0)  # the load is there before the search looks at it
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, "-m", "gpnas", "search", "--budget", str(budget), "--storage",
                       f"sqlite:///{folder}/t.db"] + (["--threads", str(threads)] if threads else [])
            start = time.perf_counter()
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=3600)
            seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"search failed: {done.stderr[-2000:]}")
        device = re.search(r"device ([^)]*)\)", done.stdout)
        return seconds, device.group(1) if device else "?"
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=3, help="children per search")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    settings = [("quiet machine, threads chosen by the search", None, False),
                ("one core busy, threads chosen by the search", None, True),
                (f"one core busy, {cores} threads (every core)", cores, True),
                # the fastest the job can be with the cores a busy machine leaves it: the yardstick of the busy run
                (f"quiet machine, {cores - 1} thread(s) (the cores left free by the busy one)", max(1, cores - 1),
                 False)]
    results = {}
    for label, threads, busy in settings:
        runs = [run_search(args.budget, threads, busy) for _ in range(args.repeats)]
        times = sorted(seconds for seconds, _ in runs)
        results[label] = {"seconds": times, "median": times[len(times) // 2], "device": runs[0][1]}
        print(label, results[label], flush=True)
    quiet = results[settings[0][0]]["median"]
    free = results[settings[3][0]]["median"]
    rows = [[label, r["device"], f"{r['median']:.0f}", f"{r['median'] / quiet:.2f}x", f"{r['median'] / free:.2f}x",
             " / ".join(f"{s:.0f}" for s in r["seconds"])] for label, r in results.items()]
    md = (f"# The main job on a busy machine\n\n`gpnas search --budget {args.budget}` (MobileNetV3-large children, one "
          f"epoch on the MNIST sample, {cores} cores), {args.repeats} runs per setting; the busy core is a Python "
          "loop started a second before the search. Command: `python benchmarks/threads.py "
          + " ".join(sys.argv[1:]) + "`.\n\n"
          + markdown_table(["setting", "trained with", "median s", "vs quiet", "vs quiet on the free cores",
                            "runs (s)"], rows)
          + "\n\nThe last column compares each run with the same job on a quiet machine limited to the cores the busy "
          "process leaves free: the fastest a job can be when it gets only those cores.")
    print(md)
    write_results("threads", md, {"args": vars(args), "cores": cores, "results": results})


if __name__ == "__main__":
    main()
