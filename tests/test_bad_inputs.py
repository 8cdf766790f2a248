"""A battery of bad inputs and faults through the command line.

Each case starts from a copy of a healthy workspace (a space file, training data, a fitted model, a benchmark-like
table, a latency table and a study database), breaks one thing, and runs one command.  Every case must end in a single
``Error: ...`` line (after click's usage lines for a bad option) with a non-zero exit and no traceback, and every file
that existed before must be left byte for byte as it was; the command may not leave new files behind either (SQLite's
transient ``-wal``/``-shm`` files aside).
"""

import json
import shutil
import sqlite3
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from gpnas.cli import main

SPACE = """name: tiny
choices:
  - {name: k, values: [3, 5, 7], group: kernel, repeat: 2}
  - {name: se, values: ["off", "on"], group: se}
"""
HEADER = "k_0,k_1,se,acc\n"


def _rows():
    rng = np.random.default_rng(0)
    out = []
    for k0 in (3, 5, 7):
        for k1 in (3, 5, 7):
            for se in ("off", "on"):
                out.append(f"{k0},{k1},{se},{70 + k0 - 0.5 * k1 + 2 * (se == 'on') + rng.normal(0, .1):.4f}")
    return out


def _invoke(args, cwd):
    import os

    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    base = tmp_path_factory.mktemp("healthy")
    (base / "space.yaml").write_text(SPACE)
    (base / "train.csv").write_text(HEADER + "\n".join(_rows()) + "\n")
    (base / "table.csv").write_text(HEADER + "\n".join(_rows()) + "\n")
    lines = ["choice,value,ms", "_base,,1.0"] + [f"k_{j},{v},{v / 10}" for j in (0, 1) for v in (3, 5, 7)]
    (base / "lat.csv").write_text("\n".join(lines + ["se,off,0", "se,on,0.3"]) + "\n")
    for args in (["fit", "--space", "space.yaml", "--data", "train.csv", "--target", "acc", "--out", "model.npz"],
                 ["search", "--space", "space.yaml", "--table", "table.csv", "--target", "acc", "--budget", "8",
                  "--strategy", "ucb", "--study", "s", "--storage", "sqlite:///s.db", "--out", "run.json"]):
        result = _invoke(args, base)
        assert result.exit_code == 0, result.output
    for name in list(base.iterdir()):
        if name.name.endswith(("-wal", "-shm")):
            name.unlink()
    return base


# ---------------------------------------------------------------- ways to break things
def write(name, content):
    def prepare(w):
        path = w / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return prepare


def space_text(text):
    return write("bad.yaml", text)


def csv_text(text):
    return write("bad.csv", text)


def tamper_model(edit):
    """Rewrite model.npz with ``edit(arrays, meta)`` applied (a valid archive with wrong content)."""
    def prepare(w):
        with np.load(w / "model.npz", allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays.pop("meta")))
        edit(arrays, meta)
        with open(w / "bad.npz", "wb") as handle:
            np.savez(handle, meta=np.array(json.dumps(meta)), **arrays)
    return prepare


def db_edit(sql, params=()):
    def prepare(w):
        conn = sqlite3.connect(w / "s.db")
        conn.execute(sql, params)
        conn.commit()
        conn.close()
    return prepare


def corrupt_pages(w):
    data = bytearray((w / "s.db").read_bytes())
    page = 4096
    for start in range(page, len(data), page):  # every page but the first (the header and the schema)
        data[start : start + page] = b"\xa5" * len(data[start : start + page])
    (w / "s.db").write_bytes(bytes(data))


#: Damaged pages surface as an unreadable database or, when they hit a stored model, as a damaged model.
DAMAGED = ("damaged or unreadable", "is not a gpnas model", "damaged")


def corrupt_data_pages(w):
    """Damage the middle of every data page: the file still opens, and the first query over trials fails."""
    data = bytearray((w / "s.db").read_bytes())
    page = 4096
    for start in range(page, len(data), page):
        data[start + 100 : start + 400] = b"\xa5" * 300
    (w / "s.db").write_bytes(bytes(data))


def corrupt_one_model(w):
    """Flip bytes in the middle of one stored model only: SQLite's own check passes, the model's CRC-32 does not."""
    conn = sqlite3.connect(w / "s.db")
    blob = conn.execute("SELECT model FROM models ORDER BY round LIMIT 1").fetchone()[0]
    conn.close()
    data = bytearray((w / "s.db").read_bytes())
    for offset in range(len(blob) // 2, len(blob) - 64, 64):  # a stretch of the model found once in the file
        probe = bytes(blob[offset : offset + 64])
        at = data.find(probe)
        if at > 0 and data.find(probe, at + 1) < 0:
            break
    else:
        raise AssertionError("no stretch of the model is unique in the file")
    data[at : at + 16] = bytes(b ^ 0xFF for b in data[at : at + 16])
    (w / "s.db").write_bytes(bytes(data))


def foreign_db(w):
    conn = sqlite3.connect(w / "s.db.tmp")
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    (w / "s.db").unlink()
    (w / "s.db.tmp").rename(w / "s.db")


def setting(key, value):
    def prepare(w):
        conn = sqlite3.connect(w / "s.db")
        settings = json.loads(conn.execute("SELECT settings FROM studies").fetchone()[0])
        settings[key] = value
        conn.execute("UPDATE studies SET settings = ?", (json.dumps(settings),))
        conn.commit()
        conn.close()
    return prepare


def both(*prepares):
    def prepare(w):
        for p in prepares:
            p(w)
    return prepare


FIT = ["fit", "--space", "space.yaml", "--data", "train.csv", "--target", "acc", "--out", "new.npz"]
FIT_SPACE = ["fit", "--space", "bad.yaml", "--data", "train.csv", "--target", "acc", "--out", "new.npz"]
FIT_DATA = ["fit", "--space", "space.yaml", "--data", "bad.csv", "--target", "acc", "--out", "new.npz"]
PREDICT_MODEL = ["predict", "--model", "bad.npz", "--data", "train.csv", "--out", "pred.csv"]
PREDICT_DATA = ["predict", "--model", "model.npz", "--data", "bad.csv", "--out", "pred.csv"]
SEARCH = ["search", "--space", "space.yaml", "--table", "table.csv", "--target", "acc", "--budget", "4",
          "--out", "out.json", "--storage", "sqlite:///new.db"]
RESUME = ["search", "--table", "table.csv", "--target", "acc", "--budget", "10", "--study", "s",
          "--storage", "sqlite:///s.db", "--out", "out.json"]
TRAIN = ["search", "--budget", "1", "--epochs", "1", "--storage", "sqlite:///new.db", "--out", "out.json"]


def _space_cases():
    good = "  - {name: a, values: [1, 2], group: g}\n"
    return [
        ("space not yaml", space_text("choices: [unclosed\n"), FIT_SPACE, "not valid YAML"),
        ("space a list", space_text("- 1\n- 2\n"), FIT_SPACE, "expected a mapping"),
        ("space no choices", space_text("name: x\n"), FIT_SPACE, "'choices' must be a non-empty list"),
        ("space empty choices", space_text("choices: []\n"), FIT_SPACE, "'choices' must be a non-empty list"),
        ("space unknown key", space_text("choices:\n" + good + "extra: 1\n"), FIT_SPACE, "unknown top-level keys"),
        ("choice not mapping", space_text("choices:\n  - 5\n"), FIT_SPACE, "expected a mapping"),
        ("choice no name", space_text("choices:\n  - {values: [1], group: g}\n"), FIT_SPACE, "missing 'name'"),
        ("choice no values", space_text("choices:\n  - {name: a, group: g}\n"), FIT_SPACE, "missing 'values'"),
        ("choice no group", space_text("choices:\n  - {name: a, values: [1]}\n"), FIT_SPACE, "missing 'group'"),
        ("choice unknown key", space_text("choices:\n  - {name: a, values: [1], group: g, x: 1}\n"), FIT_SPACE,
         "unknown keys"),
        ("values empty", space_text("choices:\n  - {name: a, values: [], group: g}\n"), FIT_SPACE,
         "values must be a non-empty list"),
        ("values scalar", space_text("choices:\n  - {name: a, values: 3, group: g}\n"), FIT_SPACE,
         "values must be a non-empty list"),
        ("values duplicate", space_text("choices:\n  - {name: a, values: [1, 1], group: g}\n"), FIT_SPACE,
         "duplicate values"),
        ("value bool", space_text("choices:\n  - {name: a, values: [true, 2], group: g}\n"), FIT_SPACE,
         "must be a number or a string"),
        ("value nan", space_text("choices:\n  - {name: a, values: [.nan, 2], group: g}\n"), FIT_SPACE,
         "is not finite"),
        ("value with comma", space_text("choices:\n  - {name: a, values: ['x,y', 2], group: g}\n"), FIT_SPACE,
         "without ','"),
        ("value nested list", space_text("choices:\n  - {name: a, values: [[1], 2], group: g}\n"), FIT_SPACE,
         "must be a number or a string"),
        ("name with equals", space_text("choices:\n  - {name: 'a=b', values: [1], group: g}\n"), FIT_SPACE,
         "without ','"),
        ("name duplicate", space_text("choices:\n" + good + good), FIT_SPACE, "duplicate choice names"),
        ("group empty", space_text("choices:\n  - {name: a, values: [1], group: ''}\n"), FIT_SPACE,
         "group must be a non-empty string"),
        ("repeat zero", space_text("choices:\n  - {name: a, values: [1], group: g, repeat: 0}\n"), FIT_SPACE,
         "'repeat' must be a positive integer"),
        ("repeat text", space_text("choices:\n  - {name: a, values: [1], group: g, repeat: x}\n"), FIT_SPACE,
         "'repeat' must be a positive integer"),
        ("repeat huge", space_text("choices:\n  - {name: a, values: [1], group: g, repeat: 100000000}\n"),
         FIT_SPACE, "more than 10000 positions"),
        ("duplicate yaml key", space_text("choices:\n  - {name: a, values: [1, 2], group: g, group: h}\n"),
         FIT_SPACE, "duplicate keys"),
        ("space not utf8", write("bad.yaml", b"choices:\n  - {name: \xff\xfe, values: [1], group: g}\n"), FIT_SPACE,
         "not UTF-8"),
        ("space binary", write("bad.yaml", bytes(range(256))), FIT_SPACE, "not UTF-8"),
        ("space bad suffix", write("bad.txt", SPACE),
         ["fit", "--space", "bad.txt", "--data", "train.csv", "--target", "acc", "--out", "new.npz"], "suffix"),
        ("space missing", None, ["fit", "--space", "nope.yaml", "--data", "train.csv", "--target", "acc", "--out",
                                 "new.npz"], "does not exist"),
        ("space json invalid", write("bad.json", "{"),
         ["fit", "--space", "bad.json", "--data", "train.csv", "--target", "acc", "--out", "new.npz"],
         "not valid JSON"),
        ("space json duplicate key", write("bad.json", '{"name": "a", "name": "b", "choices": []}'),
         ["fit", "--space", "bad.json", "--data", "train.csv", "--target", "acc", "--out", "new.npz"],
         "duplicate keys"),
        ("cell bad nodes", space_text("choices:\n" + good + "cell: {nodes: 1, edges: {a: [0, 1]}}\n"), FIT_SPACE,
         "'nodes' must be an integer >= 2"),
        ("cell unknown edge", space_text("choices:\n" + good + "cell: {nodes: 2, edges: {b: [0, 1]}}\n"), FIT_SPACE,
         "not choices of the space"),
        ("cell backwards edge", space_text("choices:\n" + good + "cell: {nodes: 3, edges: {a: [2, 1]}}\n"),
         FIT_SPACE, "lower to a higher node"),
        ("cell edge not pair", space_text("choices:\n" + good + "cell: {nodes: 3, edges: {a: 1}}\n"), FIT_SPACE,
         "must be [src, dst]"),
        ("cell not mapping", space_text("choices:\n" + good + "cell: [1]\n"), FIT_SPACE, "expected a mapping"),
        ("cell unknown key", space_text("choices:\n" + good + "cell: {nodes: 2, edges: {a: [0, 1]}, x: 1}\n"),
         FIT_SPACE, "unknown keys"),
        ("cell none is identity", space_text(
            "choices:\n" + good + "cell: {nodes: 2, edges: {a: [0, 1]}, none: [1], identity: [1]}\n"), FIT_SPACE,
         "both 'none' and 'identity'"),
    ]


def _data_cases():
    return [
        ("data missing column", csv_text("k_0,se,acc\n3,on,70\n5,on,71\n"), FIT_DATA, "lacks column(s) ['k_1']"),
        ("data unknown value", csv_text(HEADER + "3,9,on,70\n3,5,on,71\n"), FIT_DATA, "unknown value '9'"),
        ("data nan target", csv_text(HEADER + "3,5,on,nan\n3,7,off,71\n"), FIT_DATA, "target 'acc' is nan"),
        ("data inf target", csv_text(HEADER + "3,5,on,inf\n3,7,off,71\n"), FIT_DATA, "target 'acc' is inf"),
        ("data empty target", csv_text(HEADER + "3,5,on,\n3,7,off,71\n"), FIT_DATA, "not a number"),
        ("data text target", csv_text(HEADER + "3,5,on,high\n3,7,off,71\n"), FIT_DATA, "not a number"),
        ("data underscore target", csv_text(HEADER + "3,5,on,1_000\n3,7,off,71\n"), FIT_DATA, "not a number"),
        ("data duplicated column", csv_text("k_0,k_1,se,acc,acc\n3,5,on,70,1\n3,7,off,71,2\n"), FIT_DATA,
         "duplicated column(s) ['acc']"),
        ("data extra field", csv_text(HEADER + "3,5,on,70,99\n3,7,off,71\n"), FIT_DATA, "more fields than the header"),
        ("data missing field", csv_text(HEADER + "3,5,on\n3,7,off,71\n"), FIT_DATA, "fewer fields than the header"),
        ("data empty file", csv_text(""), FIT_DATA, "lacks column(s)"),
        ("data header only", csv_text(HEADER), FIT_DATA, "at least 2"),
        ("data one row", csv_text(HEADER + "3,5,on,70\n"), FIT_DATA, "at least 2"),
        ("data not utf8", write("bad.csv", HEADER.encode() + b"3,5,\xff\xfe,70\n"), FIT_DATA, "UTF-8"),
        ("data binary", write("bad.csv", bytes(range(256)) * 4), FIT_DATA, "UTF-8"),
        ("data missing file", None, ["fit", "--space", "space.yaml", "--data", "nope.csv", "--target", "acc",
                                     "--out", "new.npz"], "does not exist"),
        ("data conflicting duplicates", csv_text(HEADER + "3,5,on,1.51\n3,5,on,100\n3,5,on,-100\n5,5,on,70\n"),
         FIT_DATA, "appear more than once with different targets"),
        ("data target missing", csv_text("k_0,k_1,se\n3,5,on\n5,5,on\n"), FIT_DATA, "lacks column(s) ['acc']"),
        ("data value index not value", csv_text(HEADER + "0,1,on,70\n1,2,on,71\n"), FIT_DATA, "unknown value"),
        ("fit features unknown", None, FIT + ["--features", "magic"], "expected 'auto' or a comma list"),
        ("fit cell features without cell", None, FIT + ["--features", "paths"], "declares a cell"),
        ("fit encoding unknown", None, FIT + ["--encoding", "binary"], "Invalid value for '--encoding'"),
        ("fit out into missing folder", None, ["fit", "--space", "space.yaml", "--data", "train.csv", "--target",
                                               "acc", "--out", "nowhere/m.npz"], "No such file or directory"),
    ]


def _drop(key):
    return tamper_model(lambda a, m: a.pop(key))


def _reshape(key, shape):
    return tamper_model(lambda a, m: a.__setitem__(key, np.zeros(shape)))


def _meta(edit):
    return tamper_model(lambda a, m: edit(m))


def _model_cases():
    return [
        ("model missing", None, ["predict", "--model", "nope.npz", "--data", "train.csv", "--out", "p.csv"],
         "does not exist"),
        ("model text file", write("bad.npz", "just some text\n"), PREDICT_MODEL, "not an .npz archive"),
        ("model random bytes", write("bad.npz", bytes(range(256)) * 8), PREDICT_MODEL, "not an .npz archive"),
        ("model zip without arrays", lambda w: zipfile.ZipFile(w / "bad.npz", "w").close(), PREDICT_MODEL,
         "not a gpnas model"),
        ("model no X_train", _drop("X_train"), PREDICT_MODEL, "not a gpnas model"),
        ("model no tail slopes", _drop("target_tail_slopes"), PREDICT_MODEL, "not a gpnas model"),
        ("model X_train wrong width", _reshape("X_train", (5, 2)), PREDICT_MODEL, "damaged"),
        ("model y_train wrong length", _reshape("y_train", (3,)), PREDICT_MODEL, "damaged"),
        ("model sigma wrong length", _reshape("log_sigma", (7,)), PREDICT_MODEL, "damaged"),
        ("model prior cov wrong shape", _reshape("prior_cov", (2, 2)), PREDICT_MODEL, "damaged"),
        ("model nan sigma", tamper_model(lambda a, m: a.__setitem__("log_sigma", a["log_sigma"] * np.nan)),
         PREDICT_MODEL, "non-finite"),
        ("model X_train out of range", tamper_model(lambda a, m: a.__setitem__("X_train", a["X_train"] + 5)),
         PREDICT_MODEL, "damaged"),
        ("model knots decreasing", tamper_model(
            lambda a, m: a.__setitem__("target_y_knots", a["target_y_knots"][::-1].copy())), PREDICT_MODEL,
         "bad target transform"),
        ("model meta format", _meta(lambda m: m.__setitem__("format", "other")), PREDICT_MODEL, "not a gpnas model"),
        ("model meta version", _meta(lambda m: m.__setitem__("version", 1)), PREDICT_MODEL, "refit it"),
        ("model meta no params", _meta(lambda m: m.pop("params")), PREDICT_MODEL, "damaged"),
        ("model meta bad space", _meta(lambda m: m["params"].__setitem__("space", {"choices": []})), PREDICT_MODEL,
         "damaged"),
        ("model meta bad encoding", _meta(lambda m: m["params"].__setitem__("encoding", "binary")), PREDICT_MODEL,
         "damaged"),
        ("model meta bad target kind", _meta(lambda m: m.__setitem__("target_kind", "log")), PREDICT_MODEL,
         "bad target transform"),
        ("model meta bounds not pairs", _meta(lambda m: m["params"].__setitem__("noise_bounds", 3)), PREDICT_MODEL,
         "damaged"),
        ("model meta not json", tamper_model(lambda a, m: m.clear()), PREDICT_MODEL, "not a gpnas model"),
        ("predict out is the data", None, ["predict", "--model", "model.npz", "--data", "train.csv", "--out",
                                           "train.csv"], "would overwrite an input file"),
        ("predict out is the model", None, ["predict", "--model", "model.npz", "--data", "train.csv", "--out",
                                            "model.npz"], "would overwrite an input file"),
        ("predict unknown value", csv_text("k_0,k_1,se\n3,5,on\n3,9,on\n"), PREDICT_DATA, "line 3"),
        ("predict missing column", csv_text("k_0,se\n3,on\n"), PREDICT_DATA, "lacks column(s)"),
        ("predict duplicated column", csv_text("k_0,k_1,se,se\n3,5,on,off\n"), PREDICT_DATA, "duplicated column"),
        ("predict ragged row", csv_text("k_0,k_1,se\n3,5,on\n3,5\n"), PREDICT_DATA, "fields, the header has"),
        ("predict not utf8", write("bad.csv", b"k_0,k_1,se\n3,5,\xff\n"), PREDICT_DATA, "UTF-8"),
        ("predict missing data", None, ["predict", "--model", "model.npz", "--data", "nope.csv", "--out", "p.csv"],
         "does not exist"),
        ("predict out into missing folder", None, ["predict", "--model", "model.npz", "--data", "train.csv", "--out",
                                                   "nowhere/p.csv"], "No such file or directory"),
    ]


def _search_cases():
    return [
        ("search budget zero", None, SEARCH[:-6] + ["--budget", "0", "--out", "out.json"], "--budget"),
        ("search batch zero", None, SEARCH + ["--batch-size", "0"], "--batch-size"),
        ("search strategy unknown", None, SEARCH + ["--strategy", "bogus"], "--strategy"),
        ("search direction unknown", None, SEARCH + ["--direction", "sideways"], "--direction"),
        ("search n-initial one", None, SEARCH + ["--n-initial", "1"], "--n-initial"),
        ("search mse nan", None, SEARCH + ["--mse-threshold", "nan"], "not a finite number above 0"),
        ("search mse negative", None, SEARCH + ["--mse-threshold", "-1"], "not a finite number above 0"),
        ("search mse zero", None, SEARCH + ["--mse-threshold", "0"], "not a finite number above 0"),
        ("search mse text", None, SEARCH + ["--mse-threshold", "low"], "--mse-threshold"),
        ("search lr nan", None, TRAIN + ["--lr", "nan"], "not a finite number above 0"),
        ("search lr negative", None, TRAIN + ["--lr", "-0.1"], "not a finite number above 0"),
        ("search device bogus", None, TRAIN + ["--device", "foo"], "is not a torch device"),
        ("search epochs zero", None, TRAIN + ["--epochs", "0"], "--epochs"),
        ("multi-budget strategy", None, TRAIN + ["--epochs", "1,3", "--strategy", "mi"], "--strategy does not apply"),
        ("multi-budget mse threshold", None, TRAIN + ["--epochs", "1,3", "--mse-threshold", "0.1"],
         "--mse-threshold does not apply"),
        ("search width zero", None, TRAIN + ["--width", "0"], "--width"),
        ("search resolution tiny", None, TRAIN + ["--resolution", "2"], "--resolution"),
        ("search dataset unknown", None, TRAIN + ["--dataset", "imagenet"], "--dataset"),
        ("search cifar without folder", None, TRAIN + ["--dataset", "cifar10", "--data-dir", "nowhere"],
         "does not exist"),
        ("search faces without folder", None, TRAIN + ["--dataset", "faces", "--space", "mobilefacenet"],
         "needs --data-dir"),
        ("search training other space", None, TRAIN + ["--space", "nasbench201"], "use --table"),
        ("search table missing", None, ["search", "--space", "space.yaml", "--table", "nope.csv", "--target", "acc",
                                        "--out", "o.json", "--storage", "sqlite:///n.db"], "does not exist"),
        ("search table without target", None, ["search", "--space", "space.yaml", "--table", "table.csv", "--out",
                                               "o.json", "--storage", "sqlite:///n.db"], "needs --target"),
        ("search table target missing", None, SEARCH[:6] + ["loss"] + SEARCH[7:], "lacks column(s)"),
        ("search table conflicting rows", write("table.csv", HEADER + "3,5,on,5.58\n3,5,on,6.54\n5,5,on,1\n"),
         SEARCH, "appear more than once with different targets"),
        ("search table not utf8", write("table.csv", HEADER.encode() + b"3,5,\xff,1\n"), SEARCH, "UTF-8"),
        ("search space unknown", None, ["search", "--space", "nonesuch", "--table", "table.csv", "--target", "acc",
                                        "--out", "o.json", "--storage", "sqlite:///n.db"], "does not exist"),
        ("search out missing folder", None, SEARCH[:-4] + ["--out", "nowhere/o.json", "--storage",
                                                           "sqlite:///new.db"], "does not exist"),
        ("search storage foreign", foreign_db, SEARCH[:-2] + ["--storage", "sqlite:///s.db"], "another application"),
        ("search storage random bytes", write("junk.db", bytes(range(256)) * 16),
         SEARCH[:-2] + ["--storage", "sqlite:///junk.db"], "not an SQLite database"),
        ("search storage text file", write("junk.db", "hello\n" * 50), SEARCH[:-2] + ["--storage",
                                                                                     "sqlite:///junk.db"],
         "not an SQLite database"),
        ("search storage is folder", lambda w: (w / "dir.db").mkdir(), SEARCH[:-2] + ["--storage",
                                                                                     "sqlite:///dir.db"],
         "is a directory"),
        ("search storage bad url", None, SEARCH[:-2] + ["--storage", "mysql://x"], "unsupported storage URL"),
        ("search storage unreachable server", None, SEARCH[:-2] + ["--storage", "postgresql://u:pw@127.0.0.1:1/db"],
         "cannot connect to PostgreSQL at 'postgresql://u:***@127.0.0.1:1/db'"),
        ("search storage empty url", None, SEARCH[:-2] + ["--storage", "sqlite:///"], "names no file"),
        ("search storage missing folder", None, SEARCH[:-2] + ["--storage", "sqlite:///nowhere/x.db"],
         "does not exist"),
        ("resume other strategy", None, RESUME + ["--strategy", "mi"], "cannot resume with --strategy mi"),
        ("resume other direction", None, RESUME + ["--direction", "minimize"], "cannot resume with --direction"),
        ("resume other seed", None, RESUME + ["--seed", "5"], "cannot resume with --seed 5"),
        ("resume other n-initial", None, RESUME + ["--n-initial", "9"], "cannot resume with --n-initial 9"),
        ("resume other space", None, RESUME + ["--space", "nasbench201"], "differs from the space"),
        ("resume other table", write("other.csv", HEADER + "\n".join(_rows()[:10]) + "\n"),
         ["search", "--table", "other.csv", "--target", "acc", "--study", "s", "--storage", "sqlite:///s.db",
          "--out", "o.json"], "evaluated"),
        ("resume corrupt pages", corrupt_pages, RESUME, "malformed"),
        ("resume stored direction invalid", setting("direction", "sideways"), RESUME, "invalid stored settings"),
        ("resume stored sampler invalid", setting("sampler", "telepathy"), RESUME, "invalid stored settings"),
        ("resume stored sampler params invalid", setting("sampler_params", {"warp": 9}), RESUME,
         "invalid stored settings"),
        ("resume stored n_initial text", setting("n_initial", "many"), RESUME, "invalid stored settings"),
        ("table name unknown", None, ["table", "nb999", "--out", "t.csv"], "Invalid value"),
        ("table data dir missing", None, ["table", "macro", "--out", "t.csv", "--data-dir", "nowhere"],
         "not found"),
    ]


def _study_cases():
    cases = []
    for command in (["studies"], ["show", "s"], ["export", "s", "--out", "e.csv"], ["report", "s"],
                    ["select", "s", "--budget", "latency<=100", "--latency", "latency=lat.csv"]):
        name = command[0]
        cases += [
            (f"{name} missing database", None, command + ["--storage", "sqlite:///nope.db"], "does not exist"),
            (f"{name} foreign database", foreign_db, command + ["--storage", "sqlite:///s.db"],
             "another application"),
            (f"{name} random bytes", write("s.db", bytes(range(256)) * 16), command + ["--storage", "sqlite:///s.db"],
             "not an SQLite database"),
            (f"{name} corrupt pages", corrupt_pages, command + ["--storage", "sqlite:///s.db"], "malformed"),
            (f"{name} newer schema", db_edit("UPDATE gpnas_meta SET value = '99' WHERE key = 'schema_version'"),
             command + ["--storage", "sqlite:///s.db"], "schema version 99"),
        ]
        if name != "studies":
            cases += [(f"{name} unknown study", None, [command[0], "nope"] + command[2:]
                       + ["--storage", "sqlite:///s.db"], "no study named"),
                      (f"{name} stored direction invalid", setting("direction", "up"),
                       command + ["--storage", "sqlite:///s.db"], "invalid stored settings")]
    with_db = ["--storage", "sqlite:///s.db"]
    select = ["select", "s"] + with_db
    cases += [
        ("show damaged data pages", corrupt_data_pages, ["show", "s"] + with_db, DAMAGED),
        ("export damaged data pages", corrupt_data_pages, ["export", "s", "--out", "e.csv"] + with_db, DAMAGED),
        ("report damaged data pages", corrupt_data_pages, ["report", "s"] + with_db, DAMAGED),
        ("resume damaged data pages", corrupt_data_pages, RESUME, DAMAGED),
        ("resume damaged model", corrupt_one_model, RESUME, "fails its checksum"),
        ("export bad suffix", None, ["export", "s", "--out", "e.xlsx"] + with_db, "expected a .csv or .json"),
        ("select budget syntax", None, select + ["--budget", "macs<"], "budget"),
        ("select budget unknown target", None, select + ["--budget", "joules<=3"], "joules"),
        ("select budget not number", None, select + ["--budget", "latency<=abc", "--latency", "latency=lat.csv"],
         "abc"),
        ("select budget nan", None, select + ["--budget", "latency<=nan", "--latency", "latency=lat.csv"], "nan"),
        ("select resolution zero", None, select + ["--budget", "latency<=9", "--resolution", "0"], "--resolution"),
        ("select width negative", None, select + ["--budget", "latency<=9", "--width", "-1"], "--width"),
        ("select top zero", None, select + ["--budget", "latency<=9", "--top", "0"], "--top"),
        ("select pool tiny", None, select + ["--budget", "latency<=9", "--pool", "5"], "--pool"),
        ("select latency no equals", None, select + ["--budget", "latency<=9", "--latency", "lat.csv"],
         "expected DEVICE=FILE.csv"),
        ("select latency missing", None, select + ["--budget", "latency<=9", "--latency", "latency=nope.csv"],
         "does not exist"),
        ("select latency not utf8", write("lat.csv", b"choice,value,ms\nk_0,3,\xff\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"], "not UTF-8"),
        ("select latency columns", write("lat.csv", "a,b\n1,2\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"],
         "is neither a per-choice table (columns choice,value,ms) nor measured architectures"),
        ("select latency not number", write("lat.csv", "choice,value,ms\nk_0,3,fast\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"], "not a number"),
        ("select latency negative", write("lat.csv", "choice,value,ms\nk_0,3,-1\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"], "non-negative"),
        ("select latency unknown choice", write("lat.csv", "choice,value,ms\nq_9,3,1\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"], "unknown choice"),
        ("select latency unknown value", write("lat.csv", "choice,value,ms\nk_0,4,1\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"], "unknown value"),
        ("select latency incomplete", write("lat.csv", "choice,value,ms\nk_0,3,1\n"),
         select + ["--budget", "latency<=9", "--latency", "latency=lat.csv"], "lacks"),
        ("select impossible budget", None, select + ["--budget", "latency<=0.0001", "--latency", "latency=lat.csv"],
         "no candidate meets budget"),
        ("report costs missing", None, ["report", "s", "--costs", "nope.csv"] + with_db, "does not exist"),
    ]
    return cases


CASES = _space_cases() + _data_cases() + _model_cases() + _search_cases() + _study_cases()


def test_the_battery_is_large_enough():
    assert len(CASES) >= 150, len(CASES)
    assert len({c[0] for c in CASES}) == len(CASES)


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("name, prepare, args, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_error_line_and_touches_nothing(template, tmp_path, name, prepare, args, message):
    work = tmp_path / "w"
    shutil.copytree(template, work)
    if prepare is not None:
        prepare(work)
    before = _snapshot(work)
    result = _invoke(args, work)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (AssertionError,)), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # click's error exit, not a crash
    assert lines and lines[-1].startswith("Error: "), result.output
    assert sum(line.startswith("Error:") for line in lines) == 1, result.output
    alternatives = message if isinstance(message, tuple) else (message,)
    assert any(m in lines[-1] for m in alternatives), result.output
    assert len(lines[-1]) < 600, "an error line should be readable, not a dump"
    after = _snapshot(work)
    changed = [str(p) for p, data in before.items() if after.get(p) != data]
    assert not changed, f"modified or removed: {changed}"
    created = [str(p) for p in set(after) - set(before) if not str(p).endswith(("-wal", "-shm"))]
    assert not created, f"left behind: {created}"


def test_read_only_database_can_still_be_listed_shown_and_exported(template, tmp_path):
    import os
    import stat

    work = tmp_path / "w"
    shutil.copytree(template, work)
    db = work / "s.db"
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(db, stat.S_IRUSR)
    os.chmod(work, stat.S_IRUSR | stat.S_IXUSR)
    try:
        before = db.read_bytes()
        for args in (["studies"], ["show", "s"], ["export", "s", "--out", str(out / "e.csv")]):
            result = _invoke(args + ["--storage", f"sqlite:///{db}"], tmp_path)
            assert result.exit_code == 0, result.output
        assert db.read_bytes() == before
        assert (out / "e.csv").read_text().count("\n") == 9
    finally:
        os.chmod(work, stat.S_IRWXU)
        os.chmod(db, stat.S_IRUSR | stat.S_IWUSR)


def test_a_partial_table_is_searched_as_its_rows_and_nothing_misses(template, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(template, work)
    (work / "partial.csv").write_text(HEADER + "\n".join(_rows()[:3]) + "\n")  # most architectures missing
    result = _invoke(["search", "--space", "space.yaml", "--table", "partial.csv", "--target", "acc", "--budget",
                      "12", "--strategy", "random", "--seed", "3", "--storage", "sqlite:///f.db", "--out", "o.json"],
                     work)
    # the search proposes the table's three rows only, and stops when they are spent: no trial misses the table
    assert result.exit_code == 0, result.output
    summary = json.loads((work / "o.json").read_text())["summary"]
    assert (summary["n_done"], summary["n_failed"]) == (3, 0) and summary["stop_reason"] == "search space exhausted"


def test_trials_failing_alike_stop_the_search_and_the_command_fails(tmp_path, monkeypatch):
    """The first FAIL_FAST trials failing with one error (a bad setting) stop the search; the CLI then exits 1."""
    import gpnas.run.table_objective
    from gpnas.space import make_space
    from gpnas.study import FAIL_FAST, Study

    space = make_space([("k", [3, 5, 7], "kernel"), ("e", [3, 6], "expansion")])
    calls = []

    def broken(arch):
        calls.append(arch)
        raise RuntimeError("CUDA error: no kernel image is available")

    study = Study(space, sampler="random", seed=0, fit_model=False)
    with pytest.warns(UserWarning, match="no kernel image"):
        study.optimize(broken, budget=6, batch_size=1, catch=(RuntimeError,))  # caught: the fail-fast rule stops it
    assert len(calls) == FAIL_FAST and "all failed with the same error" in study.stop_reason
    assert "no kernel image" in study.stop_reason
    # on the command line a search whose every trial failed ends in one Error line and a non-zero exit
    monkeypatch.setattr(gpnas.run.table_objective.TableObjective, "__call__", lambda self, arch: broken(arch))
    (tmp_path / "s.yaml").write_text(SPACE)
    (tmp_path / "t.csv").write_text(HEADER + "\n".join(_rows()) + "\n")
    result = _invoke(["search", "--space", "s.yaml", "--table", "t.csv", "--target", "acc", "--budget", "8",
                      "--storage", "sqlite:///f.db", "--out", "o.json"], tmp_path)
    assert result.exit_code == 1 and result.output.strip().splitlines()[-1].startswith("Error: every trial failed")
    assert "no kernel image" in result.output
