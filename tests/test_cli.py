import csv

import numpy as np
import pytest
from click.testing import CliRunner

from gpnas.cli import main
from gpnas.space import SearchSpace

SPACE = """
name: tiny
choices:
  - {name: k, values: [3, 5, 7], group: kernel, repeat: 2}
  - {name: se, values: ["off", "on"], group: se}
"""


@pytest.fixture
def files(tmp_path, small_space):
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    rng = np.random.default_rng(0)
    rows = []  # 30 draws from 18 architectures: some are repeated noisy runs (fit needs --replicates)
    for _ in range(30):
        k0, k1, se = rng.choice([3, 5, 7]), rng.choice([3, 5, 7]), rng.choice(["off", "on"])
        rows.append({"k_0": k0, "k_1": k1, "se": se, "acc": 70 + k0 - 0.5 * k1 + 2 * (se == "on") + rng.normal(0, .1)})
    data = tmp_path / "train.csv"
    with open(data, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["k_0", "k_1", "se", "acc"])
        writer.writeheader()
        writer.writerows(rows)
    return tmp_path, space, data


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_fit_then_predict(files):
    tmp, space, data = files
    result = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "m.json", "--replicates")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp.iterdir() if p.name.startswith("m.")) == ["m.json"]  # exactly the named file
    result = run("predict", "--model", tmp / "m.json", "--data", data, "--out", tmp / "pred.csv")
    assert result.exit_code == 0, result.output
    with open(tmp / "pred.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["k_0", "k_1", "se", "mean", "std", "lower", "upper"]
    with open(data) as handle:
        truth = [float(r["acc"]) for r in csv.DictReader(handle)]
    pred = [float(r["mean"]) for r in rows]
    assert np.corrcoef(pred, truth)[0, 1] > 0.95
    assert all(float(r["std"]) >= 0 for r in rows)
    # the interval is the model's own predict_interval (a new measurement, noise included), not mean +- 1.96 std
    from gpnas import load_model
    from gpnas.io.data import read_architectures
    from gpnas.space import SearchSpace

    model = load_model(tmp / "m.json")
    X, _, _ = read_architectures(data, SearchSpace.load(space), "acc")
    lower, upper = model.predict_interval(X)
    np.testing.assert_allclose([float(r["lower"]) for r in rows], lower, rtol=1e-12)
    np.testing.assert_allclose([float(r["upper"]) for r in rows], upper, rtol=1e-12)
    assert all(float(r["lower"]) < float(r["mean"]) < float(r["upper"]) for r in rows)
    narrow = run("predict", "--model", tmp / "m.json", "--data", data, "--out", tmp / "p50.csv", "--coverage", "0.5")
    assert narrow.exit_code == 0, narrow.output
    with open(tmp / "p50.csv") as handle:
        half = list(csv.DictReader(handle))
    assert all(float(h["upper"]) - float(h["lower"]) < float(r["upper"]) - float(r["lower"]) for h, r in zip(half, rows))


def test_predict_streams_in_chunks_and_never_overwrites_its_inputs(files, monkeypatch):
    import gpnas.io.data

    tmp, space, data = files
    fitted = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "m.npz", "--replicates")
    assert fitted.exit_code == 0
    whole = run("predict", "--model", tmp / "m.npz", "--data", data, "--out", tmp / "whole.csv")
    assert whole.exit_code == 0, whole.output
    monkeypatch.setattr(gpnas.io.data, "STREAM_CHUNK", 7)  # 30 rows in chunks of 7 give the same file
    monkeypatch.setattr(gpnas.io.data.predict_csv, "__defaults__", (7, 0.95))
    chunked = run("predict", "--model", tmp / "m.npz", "--data", data, "--out", tmp / "chunked.csv")
    assert chunked.exit_code == 0, chunked.output
    def table(path):
        with open(path) as handle:
            rows = list(csv.reader(handle))
        return [r[:3] for r in rows], np.array([[float(v) for v in r[3:]] for r in rows[1:]])

    (arch_a, num_a), (arch_b, num_b) = table(tmp / "whole.csv"), table(tmp / "chunked.csv")
    assert arch_a == arch_b and len(arch_a) == 31
    np.testing.assert_allclose(num_a, num_b, rtol=1e-9)  # only the last bits of the BLAS blocking may differ
    kept = (tmp / "whole.csv").read_text()
    before = {p: p.read_bytes() for p in (data, tmp / "m.npz")}
    for target in (data, tmp / "m.npz"):
        result = run("predict", "--model", tmp / "m.npz", "--data", data, "--out", target)
        assert result.exit_code != 0 and "would overwrite an input file" in result.output
    bad = _write(tmp / "bad.csv", "k_0,k_1,se\n3,5,on\n3,9,on\n")
    result = run("predict", "--model", tmp / "m.npz", "--data", bad, "--out", tmp / "whole.csv")
    assert result.exit_code != 0 and "line 3" in result.output
    assert all(p.read_bytes() == b for p, b in before.items())
    assert (tmp / "whole.csv").read_text() == kept  # a failed run leaves it as it was
    assert not list(tmp.glob(".gpnas-*"))
    spelled = _write(tmp / "spelled.csv", "k_0,k_1,se\n3.0,5,on\n3,5,on\n")  # another spelling of a choice's value
    result = run("predict", "--model", tmp / "m.npz", "--data", spelled, "--out", tmp / "spelled_out.csv")
    assert result.exit_code == 0, result.output
    with open(tmp / "spelled_out.csv") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 3 and rows[1] == rows[2] and rows[1][0] == "3"


def test_predict_fast_path_writes_what_the_general_path_writes(files):
    tmp, space, data = files
    assert run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "m.npz",
               "--replicates").exit_code == 0
    with open(data) as handle:
        rows = list(csv.DictReader(handle))
    names = ["k_0", "k_1", "se"]
    plain = _write(tmp / "plain.csv", ",".join(names) + "\n" + "".join(
        ",".join(r[n] for n in names) + "\n" for r in rows))  # exactly the space's columns: lines pass through
    shuffled = _write(tmp / "shuffled.csv", "se,extra,k_1,k_0\n" + "".join(
        f"{r['se']},x,{r['k_1']},{r['k_0']}\n" for r in rows))  # another order and a column more: rebuilt rows
    for source, target in [(plain, "fast.csv"), (shuffled, "general.csv")]:
        result = run("predict", "--model", tmp / "m.npz", "--data", source, "--out", tmp / target)
        assert result.exit_code == 0, result.output
    fast, general = (tmp / "fast.csv").read_bytes(), (tmp / "general.csv").read_bytes()
    assert fast == general and fast.count(b"\r\n") == len(rows) + 1


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "csv_text, message",
    [
        ("k_0,k_1,se,acc\n3,9,on,70\n3,5,on,71\n", "unknown value '9'"),
        ("k_0,se,acc\n3,on,70\n5,on,71\n", "lacks column(s) ['k_1']"),
        ("k_0,k_1,se,acc\n3,5,on,nan\n3,5,off,71\n", "line 2: target 'acc' is nan"),
        ("k_0,k_1,se,acc\n3,5,on,70\n", "at least 2"),
    ],
)
def test_bad_data_gives_one_clear_line(files, csv_text, message):
    tmp, space, _ = files
    data = _write(tmp / "bad.csv", csv_text)
    result = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "m", "--replicates")
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output
    assert not (tmp / "m.npz").exists()


def test_malformed_space_and_model_files(files):
    tmp, _, data = files
    space = _write(tmp / "bad.yaml", "name: x\nchoices:\n  - {name: a, values: [1]}\n")
    result = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "m", "--replicates")
    assert result.exit_code != 0 and "missing 'group'" in result.output
    model = _write(tmp / "junk.npz", "junk")
    result = run("predict", "--model", model, "--data", data, "--out", tmp / "p.csv")
    assert result.exit_code != 0 and "not a gpnas model" in result.output


def test_table_export(tmp_path, real_table):
    real_table("macro")  # skip/fail consistently when the data is absent
    result = run("table", "macro", "--out", tmp_path / "macro.csv", "--space-out", tmp_path / "macro.yaml", "--dedup")
    assert result.exit_code == 0, result.output
    with open(tmp_path / "macro.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3969 and {"l0", "target", "flops", "params"} <= set(rows[0])
    result = run("table", "nb201-cifar10", "--out", tmp_path / "nb.csv", "--space-out", tmp_path / "nb.yaml")
    assert result.exit_code == 0, result.output
    space = SearchSpace.load(tmp_path / "nb.yaml")  # the cell travels with the exported space
    assert space.cell is not None and space.cell.identity == ("skip_connect",) and len(space.cell.edges) == 6


def test_side_columns_from_fit_to_predict(tmp_path, real_table):
    """The published proxies as CSV columns: `table --proxies`, `fit --side-columns`, and `predict` reading the same
    columns (a missing one is one clear line); the proxies lift the ranking over the same fit without them."""
    from scipy.stats import kendalltau

    real_table("nb201-cifar10")
    result = run("table", "nb201-cifar10", "--proxies", "--out", tmp_path / "t.csv", "--space-out", tmp_path / "s.yaml")
    assert result.exit_code == 0 and "704 cells without published proxies left out" in result.output, result.output
    with open(tmp_path / "t.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 14921 and {"synflow", "jacov", "nwot"} <= set(rows[0])
    order = np.random.default_rng(0).permutation(len(rows))
    for name, part in (("train", order[:64]), ("test", order[64:2064])):
        with open(tmp_path / f"{name}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows[i] for i in part)
    taus = {}
    for label, extra in (("plain", []), ("proxies", ["--side-columns", "synflow,jacov,nwot,snip,params"])):
        result = run("fit", "--space", tmp_path / "s.yaml", "--data", tmp_path / "train.csv", "--target", "target",
                     "--out", tmp_path / f"{label}.npz", *extra)
        assert result.exit_code == 0, result.output
        result = run("predict", "--model", tmp_path / f"{label}.npz", "--data", tmp_path / "test.csv", "--out",
                     tmp_path / f"{label}.csv")
        assert result.exit_code == 0, result.output
        with open(tmp_path / f"{label}.csv") as handle:
            mean = [float(r["mean"]) for r in csv.DictReader(handle)]
        taus[label] = kendalltau(mean, [float(rows[i]["target"]) for i in order[64:2064]])[0]
    assert taus["proxies"] > taus["plain"] + 0.02, taus
    with open(tmp_path / "test.csv") as handle, open(tmp_path / "bare.csv", "w", newline="") as out:
        reader = csv.DictReader(handle)
        keep = [c for c in reader.fieldnames if c != "jacov"]
        writer = csv.DictWriter(out, fieldnames=keep, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(reader)
    result = run("predict", "--model", tmp_path / "proxies.npz", "--data", tmp_path / "bare.csv", "--out",
                 tmp_path / "x.csv")
    assert result.exit_code != 0 and "lacks column(s) ['jacov'] (the model's side features)" in result.output
    assert not (tmp_path / "x.csv").exists()
    result = run("table", "macro", "--proxies", "--out", tmp_path / "m.csv")
    assert result.exit_code != 0 and "NB201 tables only" in result.output


def _table_csv(path, space, f, skip=()):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(space.names + ["acc"])
        for i, x in enumerate(space.enumerate()):
            if i not in skip:
                writer.writerow(list(space.to_dict_arch(x).values()) + [f(x)])


def test_search_replays_a_table_and_writes_trials(tmp_path, small_space):
    import json

    small_space.save(tmp_path / "space.yaml")
    _table_csv(tmp_path / "table.csv", small_space, lambda x: float(x.sum()), skip={3, 10, 40})
    result = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "table.csv", "--target", "acc",
                 "--budget", 30, "--batch-size", 5, "--strategy", "mi", "--seed", 3, "--out", tmp_path / "run.json",
                 "--storage", f"sqlite:///{tmp_path / 'g.db'}")
    assert result.exit_code == 0, result.output
    assert "best found" in result.output and "best predicted" in result.output
    run_json = json.loads((tmp_path / "run.json").read_text())
    trials = run_json["trials"]
    assert len(trials) == 30
    assert set(trials[0]["arch"]) == set(small_space.names)
    skipped = {tuple(x) for i, x in enumerate(small_space.enumerate()) if i in {3, 10, 40}}
    for t in trials:  # a table that lists part of its space is searched as a candidate set: nothing misses
        x = small_space.from_dict_arch(t["arch"])
        assert t["state"] == "done" and t["value"] == float(x.sum()) and tuple(x) not in skipped
    assert "replay: the best found ranks" in result.output or "replay: reached the table's best" in result.output


def test_search_rejects_bad_tables(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    (tmp_path / "t.csv").write_text("k0,k1\n3,3\n")
    result = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--target", "acc",
                 "--storage", f"sqlite:///{tmp_path / 'g.db'}")
    assert result.exit_code != 0 and "lacks column" in result.output


def test_study_commands_create_resume_list_show_export(tmp_path, small_space):
    small_space.save(tmp_path / "space.yaml")
    _table_csv(tmp_path / "table.csv", small_space, lambda x: float(x.sum()))
    url = f"sqlite:///{tmp_path / 'g.db'}"
    common = ["--table", tmp_path / "table.csv", "--target", "acc", "--study", "s1", "--storage", url,
              "--batch-size", 4, "--out", tmp_path / "run.json"]
    first = run("search", "--space", tmp_path / "space.yaml", "--budget", 12, *common)
    assert first.exit_code == 0, first.output
    second = run("search", "--budget", 20, *common)  # resumes: the space comes from the study
    assert second.exit_code == 0, second.output
    assert "resuming study 's1': 12 done" in second.output
    (tmp_path / "other.csv").write_text((tmp_path / "table.csv").read_text())
    changed = run("search", "--budget", 25, *[str(a).replace("table.csv", "other.csv") for a in common])
    assert changed.exit_code != 0 and "was evaluated with other settings (table" in changed.output
    listing = run("studies", "--storage", url)
    assert "s1: 20 trials (20 done" in listing.output
    full = run("show", "s1", "--full", "--storage", url)
    assert full.exit_code == 0 and "best found:     k0=" in full.output  # every name=value pair
    shown = run("show", "s1", "--storage", url)
    assert shown.exit_code == 0 and "best found" in shown.output and "strategy auto" in shown.output
    assert run("export", "s1", "--out", tmp_path / "t.csv", "--storage", url).exit_code == 0
    with open(tmp_path / "t.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 20 and {"k0", "state", "value"} <= set(rows[0])
    assert len({tuple(r[n] for n in small_space.names) for r in rows}) == 20
    assert run("export", "s1", "--out", tmp_path / "t.json", "--storage", url).exit_code == 0
    bad = run("export", "s1", "--out", tmp_path / "t.txt", "--storage", url)
    assert bad.exit_code != 0 and "suffix" in bad.output
    missing = run("show", "nope", "--storage", url)
    assert missing.exit_code != 0 and "no study named 'nope'" in missing.output
    (tmp_path / "junk.db").write_text("junk")
    corrupt = run("studies", "--storage", f"sqlite:///{tmp_path / 'junk.db'}")
    assert corrupt.exit_code != 0 and "not an SQLite database" in corrupt.output
    assert (tmp_path / "junk.db").read_text() == "junk"


def _two_budget_csv(path, space):
    """Every architecture of ``space`` with a short (noisy, shrunk) and a long value."""
    rows = []
    for x in space.enumerate():
        long = float(x.sum() + 0.5 * (x[0] == x[1]))
        short = 0.6 * long + np.random.default_rng(list(map(int, x))).normal(0, 0.3)
        rows.append({**space.to_dict_arch(x), "acc5": short, "acc50": long})
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=space.names + ["acc5", "acc50"])
        writer.writeheader()
        writer.writerows(rows)
    return max(r["acc50"] for r in rows)


def test_multi_budget_search_on_a_table_resumes_and_refuses_a_changed_target(tmp_path, small_space):
    import json

    small_space.save(tmp_path / "space.yaml")
    best = _two_budget_csv(tmp_path / "t.csv", small_space)
    common = ["search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--study", "mb",
              "--storage", f"sqlite:///{tmp_path / 'g.db'}", "--out", tmp_path / "run.json", "--n-initial", 6]
    result = run(*common, "--target", "5:acc5,50:acc50", "--budget", 25)
    assert result.exit_code == 0, result.output
    assert "evaluations:" in result.output and "at 50" in result.output and "best found" in result.output
    summary = json.loads((tmp_path / "run.json").read_text())["summary"]
    assert f"a measurement at budget 5 correlates at {summary['measured_correlation']:.2f}" in result.output
    assert summary["measured_correlation"] <= summary["budget_correlation"] <= 0.95 + 1e-9
    short, long = summary["budgets"]
    assert short["n_done"] + long["n_done"] == 25 and summary["cost"] == 5 * short["n_done"] + 50 * long["n_done"]
    assert summary["best_found"]["value"] <= best
    resumed = run(*common, "--target", "5:acc5,50:acc50", "--budget", 30)
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((tmp_path / "run.json").read_text())["summary"]["n_done"] == 30
    shown = run("show", "mb", "--storage", f"sqlite:///{tmp_path / 'g.db'}")
    assert shown.exit_code == 0 and f"({small_space.size} architectures)" in shown.output and "at 50" in shown.output
    report = run("report", "mb", "--storage", f"sqlite:///{tmp_path / 'g.db'}", "--out", tmp_path / "r")
    assert report.exit_code == 0, report.output
    assert (tmp_path / "r" / "budgets_cost.png").exists()
    changed = run(*common, "--target", "acc50", "--budget", 35)
    assert changed.exit_code != 0 and "other settings" in changed.output
    bad = run("search", "--space", tmp_path / "space.yaml", "--table", tmp_path / "t.csv", "--target", "5acc5,50:acc50",
              "--storage", f"sqlite:///{tmp_path / 'g.db'}")
    assert bad.exit_code != 0 and "BUDGET:COLUMN" in bad.output


@pytest.mark.parametrize("epochs, message", [("0", "at least 1"), ("1,x", "comma-separated"), ("", "comma-separated")])
def test_bad_epoch_sets_are_refused(epochs, message):
    result = run("search", "--epochs", epochs)
    assert result.exit_code != 0 and message in result.output


def test_a_bad_side_column_value_is_one_clear_line(files):
    tmp, space, data = files
    with open(data) as handle:
        rows = list(csv.DictReader(handle))
    for i, row in enumerate(rows):
        row["flops"] = "n/a" if i == 3 else str(10 + i)
    with open(tmp / "side.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = run("fit", "--space", space, "--data", tmp / "side.csv", "--target", "acc", "--out", tmp / "m.npz",
                 "--replicates", "--side-columns", "flops")
    assert result.exit_code != 0 and "line 5: side column 'flops' is 'n/a', not a finite number" in result.output
    assert not (tmp / "m.npz").exists()
    result = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "m.npz", "--replicates",
                 "--side-columns", "flops")
    assert result.exit_code != 0 and "lacks side column(s) ['flops']" in result.output


def test_fit_with_a_source_model_transfers_and_predicts(files, tmp_path):
    """``gpnas fit --source``: a second task on the same space, fitted with the first task's model, saved, and
    predicted through ``gpnas predict``; a source of another space, or one that is itself a transfer, is refused."""
    tmp, space, data = files
    assert run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "src.npz",
               "--replicates").exit_code == 0
    target = tmp / "target.csv"
    with open(data) as handle, open(target, "w", newline="") as out:
        rows = list(csv.DictReader(handle))[:6]
        writer = csv.DictWriter(out, fieldnames=["k_0", "k_1", "se", "top1"])
        writer.writeheader()
        for r in rows:
            writer.writerow({"k_0": r["k_0"], "k_1": r["k_1"], "se": r["se"], "top1": 2 * float(r["acc"]) - 90})
    result = run("fit", "--space", space, "--data", target, "--target", "top1", "--out", tmp / "t.npz",
                 "--source", tmp / "src.npz", "--replicates")
    assert result.exit_code == 0, result.output
    assert "correlation" in result.output
    result = run("predict", "--model", tmp / "t.npz", "--data", data, "--out", tmp / "pred.csv")
    assert result.exit_code == 0, result.output
    with open(tmp / "pred.csv") as handle:
        pred = list(csv.DictReader(handle))
    with open(data) as handle:
        truth = [2 * float(r["acc"]) - 90 for r in csv.DictReader(handle)]
    assert np.corrcoef([float(r["mean"]) for r in pred], truth)[0, 1] > 0.9  # 6 points, the source's shape
    assert all(float(r["lower"]) < float(r["mean"]) < float(r["upper"]) for r in pred)
    again = run("fit", "--space", space, "--data", target, "--target", "top1", "--out", tmp / "t2.npz",
                "--source", tmp / "t.npz", "--replicates")
    assert again.exit_code == 1 and "itself a transfer" in again.output
    options = run("fit", "--space", space, "--data", target, "--target", "top1", "--out", tmp / "t4.npz",
                  "--source", tmp / "src.npz", "--replicates", "--max-rows", "3", "--encoding", "ordinal")
    assert options.exit_code == 1 and "--encoding, --max-rows cannot be combined with --source" in options.output
    assert not (tmp / "t4.npz").exists()
    other = tmp / "other.yaml"
    other.write_text(SPACE.replace("[3, 5, 7]", "[3, 5, 7, 9]"))
    refused = run("fit", "--space", other, "--data", target, "--target", "top1", "--out", tmp / "t3.npz",
                  "--source", tmp / "src.npz", "--replicates")
    assert refused.exit_code == 1 and "another space" in refused.output


def test_fit_with_a_hyperprior_is_the_api_model_and_survives_the_model_file(files):
    """``gpnas fit --hyperprior-scale S`` fits what ``GPNASRegressor(hyperprior_scale=S)`` fits on the same rows (an
    independent fit through the Python API), the saved model keeps the setting, ``none`` fits by maximum likelihood,
    no option is the model's default (scale 1), and a prior that is no prior, or one given with ``--source``, is
    refused before anything is written."""
    from gpnas import GPNASRegressor, load_model
    from gpnas.io.data import read_architectures

    tmp, space, data = files
    result = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "hp.npz", "--replicates",
                 "--hyperprior-scale", "0.5")
    assert result.exit_code == 0, result.output
    saved = load_model(tmp / "hp.npz")
    assert saved.hyperprior_scale == 0.5
    X, y, _ = read_architectures(data, SearchSpace.load(space), "acc")
    api = GPNASRegressor(space=SearchSpace.load(space), random_state=0, hyperprior_scale=0.5).fit(X, y)
    plain = GPNASRegressor(space=SearchSpace.load(space), random_state=0, hyperprior_scale=None).fit(X, y)
    np.testing.assert_allclose(saved.sigma_, api.sigma_, rtol=1e-10)
    np.testing.assert_allclose(saved.lengthscale_, api.lengthscale_, rtol=1e-10)
    np.testing.assert_allclose(saved.predict(X), api.predict(X), rtol=1e-10)
    # the prior moved the fit: the CLI did not quietly fit maximum likelihood
    assert not np.allclose(np.r_[api.sigma_, api.lengthscale_], np.r_[plain.sigma_, plain.lengthscale_], rtol=1e-3)
    ml = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "ml.npz", "--replicates",
             "--hyperprior-scale", "none")
    assert ml.exit_code == 0, ml.output
    assert load_model(tmp / "ml.npz").hyperprior_scale is None
    plain_fit = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "d.npz", "--replicates")
    assert plain_fit.exit_code == 0 and load_model(tmp / "d.npz").hyperprior_scale == 1.0  # the model's default
    np.testing.assert_allclose(load_model(tmp / "ml.npz").predict(X), plain.predict(X), rtol=1e-10)
    for bad in ("0", "-1", "nan", "wide"):
        refused = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "bad.npz",
                      "--replicates", "--hyperprior-scale", bad)
        assert refused.exit_code == 2 and "--hyperprior-scale" in refused.output, refused.output
    assert run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "src.npz",
               "--replicates").exit_code == 0
    with_source = run("fit", "--space", space, "--data", data, "--target", "acc", "--out", tmp / "t.npz",
                      "--replicates", "--source", tmp / "src.npz", "--hyperprior-scale", "1")
    assert with_source.exit_code == 1 and "--hyperprior-scale cannot be combined with --source" in with_source.output
    assert not (tmp / "bad.npz").exists() and not (tmp / "t.npz").exists()
