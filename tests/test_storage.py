import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import stored_rows  # noqa: E402  (tests/ is on sys.path)

from gpnas.store import StorageError, get_storage
from gpnas.store.sqlite import SQLiteStorage
from gpnas.study import create_study, load_study


def objective_of(space):
    def objective(arch):
        x = space.from_dict_arch(arch)
        return float(x[0] * 2 - x[1] + 3 * x[4] + 0.5 * x[2] * x[3])
    return objective


def test_study_round_trip(storage_url, small_space):
    url = storage_url
    study = create_study(small_space, sampler="mi", storage=url, study_name="s1", seed=0, n_initial=5)
    study.optimize(objective_of(small_space), budget=15, batch_size=5)
    again = load_study("s1", url)
    assert [t.record() for t in again.trials] == [t.record() for t in study.trials]
    assert len(again.rounds) == len(study.rounds)
    np.testing.assert_allclose(again.model_.predict(small_space.enumerate()),
                               study.model_.predict(small_space.enumerate()))
    assert again.settings() == study.settings()
    summary = get_storage(url).list_studies()
    assert summary == [{"name": "s1", "n_trials": 15, "pending": 0, "running": 0, "done": 15, "failed": 0}]


def test_resume_requeues_unfinished_trials_and_never_repeats_finished_ones(storage_url, small_space):
    url = storage_url
    study = create_study(small_space, sampler="mi", storage=url, study_name="s", seed=0, n_initial=4)
    f = objective_of(small_space)
    for trial in study.ask(4):
        study.tell(trial, f(trial.params))
    orphans = study.ask(3)  # pending when the "process dies"
    orphans[0].state = "running"
    study.save_trials(orphans)
    del study
    resumed = create_study(small_space, storage=url, study_name="s", load_if_exists=True)
    assert [t.state for t in resumed.trials].count("pending") == 3
    assert resumed.trials[4].attempts == 1  # it was running
    calls = []
    resumed.optimize(lambda a: calls.append(a) or f(a), budget=12, batch_size=3)
    evaluated = [tuple(small_space.from_dict_arch(a)) for a in calls]
    assert evaluated[:3] == [tuple(t.arch) for t in orphans]
    done = [tuple(t.arch) for t in resumed.trials if t.state == "done"]
    assert len(done) == 12 and len(set(done)) == 12


def test_corrupt_and_foreign_files_are_refused_and_untouched(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 10)
    before = junk.read_bytes()
    with pytest.raises(StorageError, match="not an SQLite database"):
        get_storage(f"sqlite:///{junk}")
    assert junk.read_bytes() == before
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    with pytest.raises(StorageError, match="another application"):
        get_storage(f"sqlite:///{foreign}")
    assert foreign.read_bytes() == before
    with pytest.raises(StorageError, match="unsupported storage URL"):
        get_storage("mysql://x")
    with pytest.raises(StorageError, match="does not exist"):
        get_storage(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")


def test_schema_version_is_checked(tmp_path):
    path = tmp_path / "g.db"
    SQLiteStorage(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE gpnas_meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StorageError, match="schema version 99"):
        SQLiteStorage(path)


def test_version_1_database_is_migrated_in_place(tmp_path, small_space):
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    study = create_study(small_space, sampler="random", storage=url, study_name="old", seed=0)
    study.optimize(objective_of(small_space), budget=4)
    before = [t.record() for t in study.trials]
    del study
    conn = sqlite3.connect(path)  # rebuild the trials table as schema version 1 had it (no heartbeat column)
    conn.executescript("""
        CREATE TABLE t1 AS SELECT study_id, number, arch, state, value, error, started, finished, worker, round,
                                  attempts FROM trials;
        DROP TABLE trials; ALTER TABLE t1 RENAME TO trials;
        UPDATE gpnas_meta SET value = '1' WHERE key = 'schema_version';""")
    conn.close()
    again = load_study("old", url)
    assert [t.record() for t in again.trials] == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM gpnas_meta WHERE key = 'schema_version'").fetchone()[0] == "4"
    conn.close()


def _as_version_3(path) -> None:
    """Rebuild a file's trials table as schema version 3 had it (no objectives column)."""
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE t3 AS SELECT study_id, number, arch, state, value, error, started, finished, worker, round,
                                  attempts, heartbeat, changed FROM trials;
        DROP TABLE trials; ALTER TABLE t3 RENAME TO trials;
        UPDATE gpnas_meta SET value = '3' WHERE key = 'schema_version';""")
    conn.close()


def test_version_3_database_is_migrated_in_place_and_read_only_it_is_read(tmp_path, small_space, monkeypatch):
    path = tmp_path / "v3.db"
    url = f"sqlite:///{path}"
    study = create_study(small_space, sampler="random", storage=url, study_name="v3", seed=0)
    study.optimize(objective_of(small_space), budget=4)
    before = [t.record() for t in study.trials]
    study.storage.close()
    del study
    _as_version_3(path)
    copy = tmp_path / "copy.db"
    copy.write_bytes(path.read_bytes())
    with monkeypatch.context() as m:  # a file this process may not write (root may write any: say it is not)
        real_access = os.access
        m.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
        seen = load_study("v3", f"sqlite:///{copy}")
        assert seen.storage.read_only and [t.record() for t in seen.trials] == before
        seen.storage.close()
    assert copy.read_bytes() == path.read_bytes()  # read as it is, without the column
    again = load_study("v3", url)
    assert [t.record() for t in again.trials] == before
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM gpnas_meta WHERE key = 'schema_version'").fetchone()[0] == "4"
    assert "objectives" in {r[1] for r in conn.execute("PRAGMA table_info(trials)")}
    conn.close()


def test_unknown_study_and_duplicate_names(storage_url, small_space):
    url = storage_url
    with pytest.raises(StorageError, match="no study named"):
        load_study("nope", url)
    create_study(small_space, storage=url, study_name="a")
    with pytest.raises(StorageError, match="already exists"):
        create_study(small_space, storage=url, study_name="a", load_if_exists=False)


WORKER = Path(__file__).with_name("study_worker.py")


def _trials(url):
    return stored_rows.rows(url, "number, arch, state, value")


def test_sigkill_mid_search_loses_nothing_and_resumes_exactly(tmp_path, storage_url):
    budget = 36
    reference = f"sqlite:///{tmp_path / 'ref.db'}"
    args = [str(budget), "0", "7", "mi", "kill"]
    subprocess.run([sys.executable, WORKER, reference, *args], check=True, timeout=300)
    killed = storage_url
    for kill_after in (5, 13, 22, 30):  # before the model, mid-batch, and later rounds
        proc = subprocess.Popen([sys.executable, WORKER, killed, str(budget), "0.03", "7", "mi", "kill"])
        deadline = time.time() + 120
        while sum(r[2] == "done" for r in _trials(killed)) < kill_after and proc.poll() is None \
                and time.time() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the search ended before it could be killed"
        done_now = [r for r in _trials(killed) if r[2] == "done"]
        assert len({r[1] for r in done_now}) == len(done_now)  # nothing finished twice
    subprocess.run([sys.executable, WORKER, killed, *args], check=True, timeout=300)
    ref, got = _trials(reference), _trials(killed)
    assert [r[2] for r in got] == ["done"] * budget
    assert [(r[1], r[3]) for r in got] == [(r[1], r[3]) for r in ref]  # as if nothing happened


@pytest.fixture(params=["memory", "store"])
def any_storage(request, storage_url):
    return get_storage(None if request.param == "memory" else storage_url)


def test_incremental_reads_return_exactly_the_trials_changed_since_a_clock(any_storage):
    store = any_storage
    store.create_study("s", {}, {})
    new = [{"number": -1, "arch": [i, 0], "state": "pending", "value": None, "error": None, "started": None,
            "finished": None, "worker": None, "round": 0, "attempts": 0, "heartbeat": None} for i in range(6)]
    assert store.add_trials("s", new) == list(range(6))
    everything, clock = store.load_trials_since("s", 0)
    assert [t["number"] for t in everything] == list(range(6)) and everything == store.load_trials("s")
    assert store.load_trials_since("s", clock) == ([], clock)  # nothing changed
    assert store.claim_trials("s", [1, 4], "me", 10.0) == [1, 4]
    changed, clock2 = store.load_trials_since("s", clock)
    assert [(t["number"], t["state"], t["worker"]) for t in changed] == [(1, "running", "me"), (4, "running", "me")]
    finished = {**changed[1], "state": "done", "value": 0.5, "finished": 11.0}
    assert store.finish_trial("s", finished)
    assert not store.finish_trial("s", {**finished, "value": 9.0})  # a finished result is never overwritten
    changed, clock3 = store.load_trials_since("s", clock2)
    assert [(t["number"], t["value"]) for t in changed] == [(4, 0.5)]
    store.heartbeat("s", [1], "me", 12.0)
    assert store.requeue("s", [changed[0]]) == []  # read as done: not requeued
    running = store.load_trials("s")[1]
    assert store.requeue("s", [running]) == [1]
    changed, clock4 = store.load_trials_since("s", clock3)
    assert [(t["number"], t["state"], t["attempts"]) for t in changed] == [(1, "pending", 1)]
    # replaying every change since 0 onto nothing gives the whole study, as does merging the increments
    merged = {t["number"]: t for t in everything}
    for since in (clock, clock2, clock3):
        merged.update({t["number"]: t for t in store.load_trials_since("s", since)[0]})
    assert [merged[k] for k in sorted(merged)] == store.load_trials("s")
    assert clock < clock2 < clock3 < clock4
