"""`gpnas search --proxies N`: the main job's children scored by zero-cost proxies before the search."""

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch", reason="the torch extra is not installed")

from gpnas.cli import main  # noqa: E402
from gpnas.nets.proxies import PROXIES  # noqa: E402
from gpnas.study import load_study  # noqa: E402

# --threads 2: the proxies are scored in the two-process pool an in-process search uses
TINY = ["--dataset", "digits", "--width", "0.25", "--resolution", "12", "--n-initial", "2", "--batch-size", "1",
        "--threads", "2", "--seed", "5"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_search_with_proxies_proposes_among_the_scored_children_and_starts_with_their_best(tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    result = run("search", "--proxies", 6, "--budget", 3, "--storage", url, "--study", "p", *TINY)
    assert result.exit_code == 0, result.output
    assert "zero-cost proxies of 6 children in" in result.output
    study = load_study("p", url)
    side = study.side_features
    assert side is not None and side.values.shape == (6, len(PROXIES)) and np.isfinite(side.values).all()
    scored = {tuple(x) for x in side.X.tolist()}
    trials = sorted(study.trials_in("done"), key=lambda t: t.number)
    assert len(trials) == 3 and all(tuple(t.arch.tolist()) in scored for t in trials)
    assert tuple(trials[0].arch.tolist()) == tuple(side.X[np.argmax(side.vote())].tolist())  # the proxies' pick
    assert study.model_ is not None and study.model_.side_features is not None  # the model reads them too
    # resumed: the stored proxies are used, never recomputed; another pool is refused
    again = run("search", "--proxies", 6, "--budget", 4, "--storage", url, "--study", "p", *TINY)
    assert again.exit_code == 0, again.output
    assert "resuming study 'p'" in again.output and "zero-cost proxies of" not in again.output
    other = run("search", "--proxies", 5, "--budget", 5, "--storage", url, "--study", "p", *TINY)
    assert other.exit_code != 0 and "proxies" in other.output


def test_proxies_apply_to_training_searches_only(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("k,acc\n3,1.0\n5,2.0\n")
    space = tmp_path / "s.yaml"
    space.write_text("name: s\nchoices:\n  - {name: k, values: [3, 5], group: kernel}\n")
    result = run("search", "--space", space, "--table", table, "--target", "acc", "--proxies", 4,
                 "--storage", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code != 0 and "--proxies applies to single-budget training searches" in result.output
    assert not (tmp_path / "x.db").exists()


def test_table_own_proxies_writes_the_values_score_architectures_gives(tmp_path, monkeypatch, real_table):
    """`gpnas table nb201-... --own-proxies`: gpnas's own proxies as columns, one network per isomorphism class, the
    values of score_architectures on the benchmark's settings; a table of 12 cells (the full one takes minutes)."""
    import csv

    import gpnas.cli
    from gpnas.io.tables import load_table
    from gpnas.nets.nb201 import NB201Network
    from gpnas.nets.proxies import random_batch, score_architectures

    real_table("nb201-cifar10")
    full = load_table("nb201-cifar10")
    rows = np.r_[np.arange(6), np.flatnonzero(full.dedup_key == full.dedup_key[7])[:3], np.arange(100, 103)]
    small = type(full)(full.name, full.space, full.X[rows], full.y[rows], full.dedup_key[rows], {})
    monkeypatch.setattr(gpnas.cli, "load_table", lambda name, data_dir=None: small)
    result = run("table", "nb201-cifar10", "--own-proxies", "--workers", 1, "--out", tmp_path / "t.csv")
    assert result.exit_code == 0, result.output
    assert "with gpnas's own 11 proxy columns" in result.output
    with open(tmp_path / "t.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(rows) and set(PROXIES) <= set(written[0])
    inputs, labels = random_batch((3, 32, 32), 8, 10, seed=0)
    expected = score_architectures(NB201Network, small.X, inputs, labels, workers=1, progress=False,
                                   keys=small.dedup_key).lookup(small.X)
    got = np.array([[float(r[p]) for p in PROXIES] for r in written])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    same_class = np.flatnonzero(small.dedup_key == small.dedup_key[6])
    assert len(same_class) >= 2 and np.all(got[same_class] == got[same_class[0]])  # one network per class
    both = run("table", "nb201-cifar10", "--own-proxies", "--proxies", "--out", tmp_path / "u.csv")
    assert both.exit_code != 0 and "choose one" in both.output
    macro = run("table", "macro", "--own-proxies", "--out", tmp_path / "m.csv")
    assert macro.exit_code != 0 and "--own-proxies" in macro.output
