"""`gpnas search --table T --side-columns A,B --vote ...`: a table's columns known before training (zero-cost proxies,
FLOPs) as the search model's inputs, and their vote for the first trials."""

import csv

import numpy as np
from click.testing import CliRunner
from scipy.stats import norm, rankdata

from gpnas.cli import main
from gpnas.study import load_study


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def proxy_table(path, space):
    """Every architecture with an accuracy and three distinct side columns: ``flops`` and ``expressivity`` that
    agree with the accuracy only roughly, and ``junk``."""
    rng = np.random.default_rng(3)
    X = space.enumerate()
    acc = 70 + 2 * X[:, 0] + 1.5 * X[:, 1] + X[:, 2] + 0.5 * X[:, 3] + 1.2 * X[:, 4]
    columns = {"flops": acc + rng.normal(0, 2, len(X)), "expressivity": acc + rng.normal(0, 2, len(X)),
               "junk": rng.permutation(len(X)).astype(float)}
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["acc"] + list(columns))
        for i, x in enumerate(X):
            writer.writerow(list(space.to_dict_arch(x).values()) + [acc[i]] + [c[i] for c in columns.values()])
    return X, columns


def normal_scores(values):
    """Independent of SideFeatures: the normal score of each value's rank among them (all distinct here)."""
    return norm.ppf((rankdata(values) - 0.5) / len(values))


def first_trials(url, study_name, count):
    trials = sorted(load_study(study_name, url).trials_in("done"), key=lambda t: t.number)
    return [tuple(t.arch.tolist()) for t in trials[:count]]


def test_side_columns_feed_the_model_and_the_auto_vote_picks_the_first_trials(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    X, columns = proxy_table(tmp_path / "t.csv", small_space)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    common = ["--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--target", "acc", "--storage", url,
              "--study", "s", "--n-initial", 3, "--batch-size", 1, "--side-columns", "flops,expressivity,junk"]
    result = run("search", "--budget", 6, *common)
    assert result.exit_code == 0, result.output
    assert "the first 3 trials: the best by the vote of flops, expressivity" in result.output
    study = load_study("s", url)
    assert study.side_features.names == ["flops", "expressivity", "junk"]
    np.testing.assert_array_equal(study.side_features.signs, [1.0, 1.0, 0.0])  # auto: gpnas's voters only
    assert study.model_ is not None and study.model_.side_features is not None
    vote = (normal_scores(columns["flops"]) + normal_scores(columns["expressivity"])) / 2
    assert first_trials(url, "s", 3) == [tuple(X[i].tolist()) for i in np.argsort(-vote)[:3]]
    # resumed with the same columns; another vote is refused, and so is a resume without them
    again = run("search", "--budget", 7, *common)
    assert again.exit_code == 0 and "resuming study 's'" in again.output, again.output
    assert "the first 3 trials" not in again.output  # done already: nothing to say about them
    other = run("search", "--budget", 8, *common, "--vote", "junk")
    assert other.exit_code != 0 and "other settings (vote" in other.output
    bare = run("search", "--budget", 8, *common[:-2])
    assert bare.exit_code != 0 and "side_columns" in bare.output


def test_an_explicit_vote_with_a_minus_ranks_smaller_first_and_none_starts_at_random(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    X, columns = proxy_table(tmp_path / "t.csv", small_space)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    common = ["--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--target", "acc", "--storage", url,
              "--n-initial", 2, "--batch-size", 1, "--budget", 2, "--side-columns", "flops,junk"]
    result = run("search", "--study", "minus", "--vote", "-junk", *common)
    assert result.exit_code == 0 and "the best by the vote of -junk" in result.output, result.output
    assert first_trials(url, "minus", 2) == [tuple(X[i].tolist()) for i in np.argsort(columns["junk"])[:2]]
    np.testing.assert_array_equal(load_study("minus", url).side_features.signs, [0.0, -1.0])
    result = run("search", "--study", "none", "--vote", "none", *common)
    assert result.exit_code == 0 and "the first 2 trials: random (no column votes)" in result.output, result.output
    assert not load_study("none", url).side_features.signs.any()


def test_side_column_options_that_do_not_fit_are_refused_before_a_store_is_made(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    proxy_table(tmp_path / "t.csv", small_space)
    db = tmp_path / "x.db"
    table = ["--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--target", "acc", "--storage",
             f"sqlite:///{db}"]
    cases = [
        (["--side-columns", "flops,latency"], "lacks side column(s) ['latency']"),
        (["--side-columns", "flops", "--vote", "junk"], "--vote 'junk': not one of --side-columns ['flops']"),
        (["--side-columns", " , "], "expected a comma list"),
        (["--side-columns", "flops", "--vote", ","], "expected 'auto', 'none' or a comma list"),
        (["--vote", "flops"], "--vote chooses among --side-columns"),
    ]
    for extra, message in cases:
        result = run("search", *table, *extra)
        assert result.exit_code != 0 and message in result.output, (extra, result.output)
    training = run("search", "--side-columns", "flops", "--storage", f"sqlite:///{db}")
    assert training.exit_code != 0 and "--side-columns applies to single-budget table searches" in training.output
    assert not db.exists()


def test_a_side_column_that_is_not_a_number_names_its_line(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    proxy_table(tmp_path / "t.csv", small_space)
    lines = (tmp_path / "t.csv").read_text().splitlines()
    fields = lines[4].split(",")
    fields[-3] = "nan"  # flops of the fourth row
    lines[4] = ",".join(fields)
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    result = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--target", "acc",
                 "--side-columns", "flops", "--storage", f"sqlite:///{tmp_path / 'x.db'}")
    assert result.exit_code != 0 and "line 5: side column 'flops' is 'nan'" in result.output, result.output


def test_a_multi_objective_search_takes_the_columns_as_inputs_and_says_its_start_is_random(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    proxy_table(tmp_path / "t.csv", small_space)
    url = f"sqlite:///{tmp_path / 'g.db'}"
    result = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--objective",
                 "acc:max", "--objective", "junk:min", "--side-columns", "flops,expressivity", "--n-initial", 3,
                 "--budget", 6, "--storage", url, "--study", "mo")
    assert result.exit_code == 0, result.output
    assert "the first 3 trials: random (a multi-objective study starts from a spread" in result.output
    study = load_study("mo", url)
    assert study.is_multi_objective and study.side_features.names == ["flops", "expressivity"]
