"""PostgreSQL-only behaviour of the store (the behaviour it shares with SQLite is tested on both in test_storage.py
and test_concurrency.py): its own schema beside other applications' tables, a refused foreign or newer schema, an
unreachable server named without its password, and many workers creating the schema at once."""

import subprocess
import sys

import psycopg
import pytest

import postgres_server
from gpnas.store import StorageError, StorageNotFoundError, get_storage
from gpnas.store.postgres import redact
from gpnas.study import create_study, load_study


@pytest.fixture
def database(postgres_server):  # noqa: F811  (the session's server, from conftest)
    return globals()["postgres_server"].new_database(postgres_server)


def _execute(url, sql):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_tables_live_in_their_own_schema_beside_other_applications(database, small_space):
    _execute(database, "CREATE TABLE public.studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
    _execute(database, "INSERT INTO public.studies VALUES (1, 'an optuna study')")
    study = create_study(small_space, sampler="random", storage=database, study_name="s", seed=0)
    study.optimize(lambda a: float(sum(small_space.from_dict_arch(a))), budget=5)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT study_name FROM public.studies").fetchall() == [("an optuna study",)]
        assert conn.execute("SELECT COUNT(*) FROM gpnas.trials").fetchone()[0] == 5
    assert [t.value for t in load_study("s", database).trials] == [t.value for t in study.trials]


def test_a_foreign_or_newer_schema_is_refused_and_untouched(database):
    _execute(database, "CREATE SCHEMA gpnas; CREATE TABLE gpnas.customers (id INTEGER)")
    with pytest.raises(StorageError, match="another application's tables"):
        get_storage(database)
    with psycopg.connect(database) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'gpnas'")
        assert [r[0] for r in tables] == ["customers"]
    other = postgres_server.new_database(database.rsplit("/", 1)[0] + "/postgres")
    get_storage(other).close()
    _execute(other, "UPDATE gpnas.gpnas_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StorageError, match="schema version 99"):
        get_storage(other)


def test_reading_an_empty_database_is_refused_without_creating_anything(database):
    with pytest.raises(StorageNotFoundError, match="no gpnas studies"):
        get_storage(database, create=False)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regnamespace('gpnas')").fetchone()[0] is None


def test_an_unreachable_server_is_named_without_its_password():
    url = "postgresql://alice:s3cret@127.0.0.1:1/studies"
    with pytest.raises(StorageError, match="cannot connect to PostgreSQL") as info:
        get_storage(url)
    assert "s3cret" not in str(info.value) and "alice:***@127.0.0.1:1" in str(info.value)
    assert redact("postgresql://bob@h/db") == "postgresql://bob@h/db"


def test_many_workers_creating_the_schema_at_once_create_it_once(database):
    code = ("import sys; from gpnas.store import get_storage; s = get_storage(sys.argv[1]); "
            "s.create_study(sys.argv[2], {}, {}); print(len(s.list_studies()) >= 1)")
    procs = [subprocess.Popen([sys.executable, "-c", code, database, f"s{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(8)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.strip() == "True"
    store = get_storage(database, create=False)
    assert sorted(s["name"] for s in store.list_studies()) == [f"s{i}" for i in range(8)]
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM gpnas.gpnas_meta").fetchone()[0] == 2


def test_a_version_3_database_is_migrated_in_place(database, small_space):
    study = create_study(small_space, sampler="random", storage=database, study_name="v3", seed=0)
    study.optimize(lambda a: float(sum(small_space.from_dict_arch(a))), budget=5)
    before = [t.record() for t in study.trials]
    study.storage.close()
    _execute(database, "ALTER TABLE gpnas.trials DROP COLUMN objectives; "
                       "UPDATE gpnas.gpnas_meta SET value = '3' WHERE key = 'schema_version'")
    store = get_storage(database, create=False)  # a reading command reads it as it is, changing nothing
    assert [t["value"] for t in store.load_trials("v3")] == [t["value"] for t in before]
    store.close()
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT value FROM gpnas.gpnas_meta WHERE key = 'schema_version'").fetchone()[0] == "3"
    again = load_study("v3", database)  # a version 3 database (before multi-objective studies) gains the column
    assert [t.record() for t in again.trials] == before
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT value FROM gpnas.gpnas_meta WHERE key = 'schema_version'").fetchone()[0] == "4"
        assert conn.execute("SELECT COUNT(objectives) FROM gpnas.trials").fetchone()[0] == 0
