"""Several processes on one study, in SQLite and in PostgreSQL alike: atomic claims, no duplicate numbers, nothing finished lost or overwritten,
stale trials re-queued by heartbeat, and Ctrl-C (SIGINT) leaving a resumable study and exit status 130."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import stored_rows  # noqa: E402  (tests/ is on sys.path)
import study_worker  # noqa: E402

WORKER = Path(__file__).with_name("study_worker.py")


def _value(arch):
    return study_worker.value([arch[f"p{j}"] for j in range(6)])


def _rows(url):
    """The trials table, read with the database's own driver; empty while the database or its tables do not exist."""
    return stored_rows.rows(url)


def _start(url, budget, sleep, seed, interval=10.0, grace=60.0):
    return subprocess.Popen([sys.executable, str(WORKER), url, str(budget), str(sleep), str(seed), "ucb",
                             "shared", str(interval), str(grace)], stdout=subprocess.PIPE, text=True)


def _check_results(rows, budget):
    numbers = [r[0] for r in rows]
    assert numbers == list(range(len(rows)))  # dense, never twice
    done = [r for r in rows if r[2] == "done"]
    assert len(done) == budget and all(r[2] == "done" for r in rows)
    for number, arch, _, value, _, _ in done:  # every stored result is its own architecture's, never another's
        x = json.loads(arch)
        assert value == _value({f"p{j}": x[j] for j in range(6)}), number
    return done


def test_two_processes_share_one_study_without_losing_or_overwriting(storage_url):
    db = storage_url
    first = _start(db, 40, 0.15, 0)  # slow enough that the second process joins while the first still runs
    assert first.stdout.readline().strip() == "ready"
    second = _start(db, 40, 0.15, 1)
    for proc in (first, second):
        proc.wait(timeout=300)
        assert proc.returncode == 0
    done = _check_results(_rows(db), 40)
    workers = {r[4].split(":")[1] for r in done}
    assert workers == {str(first.pid), str(second.pid)}  # both evaluated trials
    archs = [r[1] for r in done]
    assert len(set(archs)) == len(archs)  # an architecture proposed by one is never proposed by the other


def test_stale_trials_of_a_hung_process_are_requeued_and_finished_by_another(storage_url):
    db = storage_url
    hung = _start(db, 20, 0.5, 0, interval=0.2, grace=1.5)
    try:
        assert hung.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        while time.time() < deadline and not any(r[2] == "running" for r in _rows(db)):
            time.sleep(0.05)
        os.kill(hung.pid, signal.SIGSTOP)  # alive but silent: only its heartbeats can show it is gone
        stuck = [r[0] for r in _rows(db) if r[2] == "running"]
        assert stuck
        helper = _start(db, 20, 0.01, 1, interval=0.2, grace=1.5)
        helper.wait(timeout=300)
        assert helper.returncode == 0
    finally:
        hung.kill()
        hung.wait()
    rows = _rows(db)
    _check_results(rows, 20)
    for number in stuck:  # re-queued (one more attempt) and finished by the helper
        assert rows[number][5] >= 1 and rows[number][4].split(":")[1] == str(helper.pid)


def test_ctrl_c_exits_130_and_the_printed_command_resumes(tmp_path, storage_url):
    from gpnas.space import make_space

    # 16,384 architectures and a budget of 300: each proposal scores the whole space, so the search runs for many
    # seconds and the interrupt (sent at 12 done) lands mid-search; with 60 trials on a 72-architecture space the
    # faster search sometimes finished before the signal arrived
    small_space = make_space([(f"p{i}", [1, 2, 3, 4], "kernel" if i % 2 else "width") for i in range(7)])
    space = tmp_path / "space.yaml"
    small_space.save(space)
    table = tmp_path / "table.csv"
    lines = [",".join(small_space.names + ["acc"])]
    for x in small_space.enumerate():
        arch = small_space.to_dict_arch(x)
        lines.append(",".join(str(arch[n]) for n in small_space.names) + f",{float(x.sum())}")
    table.write_text("\n".join(lines) + "\n")
    db = storage_url
    # no --study: the hint must name the randomly named study, or the same command would start a new one
    command = [sys.executable, "-m", "gpnas", "search", "--space", str(space), "--table", str(table), "--target",
               "acc", "--budget", "300", "--batch-size", "1", "--strategy", "ucb", "--storage",
               db, "--out", str(tmp_path / "run.json")]
    # the child takes Ctrl-C's default action whatever this process inherited: a test run started in the background
    # of a non-interactive shell ignores SIGINT, its children inherit that, and Python then never raises
    # KeyboardInterrupt
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and sum(r[2] == "done" for r in _rows(db)) < 12:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    hint = err.split("resume with: ", 1)[1].strip()
    assert hint.startswith("gpnas search ") and " --study study-" in hint
    before = [r for r in _rows(db) if r[2] == "done"]
    assert len(before) >= 12 and not any(r[2] == "running" for r in _rows(db))
    resumed = subprocess.run([sys.executable, "-m"] + shlex.split(hint), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    after = _rows(db)
    assert sum(r[2] == "done" for r in after) == 300
    assert all(after[r[0]][1:4] == r[1:4] for r in before)  # finished trials untouched
