import gzip
import os
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

from gpnas.exceptions import DataError  # noqa: E402
from gpnas.nets.datasets import load_images  # noqa: E402
from gpnas.nets.objectives import TrainingObjective  # noqa: E402
from gpnas.nets.spaces import (
    mobilenetv3_plan,  # noqa: E402
    mobilenetv3_space,  # noqa: E402
)
from gpnas.nets.torch_models import build_network  # noqa: E402
from gpnas.nets.training import TrainConfig, TrainingDiverged, split_holdout, train_classifier  # noqa: E402
from gpnas.study import Study  # noqa: E402


def test_training_on_digits_learns():
    """Three epochs on real digits must beat chance (10 %) by far: the trainer really trains."""
    objective = TrainingObjective(resolution=12, width=0.25, epochs=3)
    arch = mobilenetv3_space().to_dict_arch(np.zeros(45, dtype=int))
    accuracy = objective(arch)
    assert 50.0 < accuracy <= 100.0
    costs = objective.costs(arch)
    assert costs["macs"] > 0 and costs["params"] > 0


def test_holdout_is_seeded_and_disjoint():
    a_train, a_val = split_holdout(100, 0.2, 3)
    b_train, b_val = split_holdout(100, 0.2, 3)
    np.testing.assert_array_equal(a_val, b_val)
    assert len(a_val) == 20 and not set(a_train) & set(a_val) and len(set(a_train) | set(a_val)) == 100


def test_divergence_is_detected():
    rng = np.random.default_rng(0)
    X, y = rng.random((64, 1, 12, 12)).astype(np.float32), rng.integers(0, 3, 64)
    net = build_network(mobilenetv3_plan(mobilenetv3_space().sample(1, random_state=0)[0], 0.25, 12, 3, 1))
    with pytest.raises(TrainingDiverged):
        train_classifier(net, X, y, X, y, TrainConfig(epochs=3, lr=1e12, batch_size=16))


def test_a_crashing_child_fails_its_trial_and_the_search_goes_on(tmp_path):
    space = mobilenetv3_space()
    calls = {"n": 0}
    objective = TrainingObjective(resolution=12, width=0.25, epochs=1)

    def flaky(arch):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return objective(arch)

    study = Study(space, sampler="mi", seed=0, n_initial=2)
    with pytest.warns(UserWarning, match="trial 1 failed: RuntimeError: CUDA out of memory"):
        study.optimize(flaky, budget=4, batch_size=2, catch=(RuntimeError,))  # told to go on, as Optuna's catch
    assert len(study.trials_in("done")) == 3
    assert "out of memory" in study.trials_in("failed")[0].error


def _write_cifar(folder, n=20):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        # as the official files: a dict with bytes keys, a uint8 array, a list of Python ints, protocol 2
        batch = {b"batch_label": b"batch", b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist(), b"filenames": [b"x.png"] * n}
        with open(folder / name, "wb") as handle:
            pickle.dump(batch, handle, protocol=2)


def test_cifar10_pickle_folder_and_errors(tmp_path):
    _write_cifar(tmp_path / "cifar")
    data = load_images("cifar10", tmp_path / "cifar", resolution=16)
    assert data.images.shape == (100, 3, 16, 16) and data.images.max() <= 1.0
    assert len(data.classes) == 10
    (tmp_path / "cifar" / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(DataError, match="corrupt"):
        load_images("cifar10", tmp_path / "cifar")
    with pytest.raises(DataError, match="does not exist"):
        load_images("cifar10", tmp_path / "nowhere")
    with pytest.raises(DataError, match="unknown dataset"):
        load_images("imagenet")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar10_loader_never_runs_code_from_a_crafted_batch(tmp_path):
    _write_cifar(tmp_path / "cifar")
    marker = tmp_path / "pwned"
    with open(tmp_path / "cifar" / "data_batch_2", "wb") as handle:
        pickle.dump({b"data": _Exploit(marker), b"labels": [0]}, handle, protocol=2)
    with pytest.raises(DataError, match=r"refusing to load (posix|os)\.system"):
        load_images("cifar10", tmp_path / "cifar")
    assert not marker.exists()


def test_image_folder_and_mnist5k(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (10, 10, 3), dtype=np.uint8)).save(tmp_path / "imgs" / label / f"{i}.png")
    (tmp_path / "imgs" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read image"):
        load_images("imagefolder", tmp_path / "imgs")
    (tmp_path / "imgs" / "dog" / "broken.png").unlink()
    data = load_images("imagefolder", tmp_path / "imgs", resolution=8)
    assert data.classes == ["cat", "dog"] and data.images.shape == (6, 3, 8, 8)
    rows = np.hstack([rng.integers(0, 255, (5, 784)), np.arange(5)[:, None]])
    with gzip.open(tmp_path / "mnist_5k.csv.gz", "wt") as handle:
        np.savetxt(handle, rows, delimiter=",", fmt="%d")
    data = load_images("mnist5k", tmp_path, resolution=14)
    assert data.images.shape == (5, 1, 14, 14) and list(data.labels) == [0, 1, 2, 3, 4]


def test_main_job_command_then_select_with_stored_settings(tmp_path):
    from click.testing import CliRunner

    from gpnas.cli import main
    from gpnas.nets.counting import count_plan

    url = f"sqlite:///{tmp_path / 'g.db'}"
    runner = CliRunner()
    result = runner.invoke(main, ["search", "--dataset", "digits", "--budget", 3, "--epochs", 1, "--resolution", 12,
                                  "--width", 0.25,
                                  "--n-initial", 2, "--batch-size", 1, "--study", "m", "--storage", url,
                                  "--threads", 1, "--out", str(tmp_path / "run.json")])
    assert result.exit_code == 0, result.output
    assert "device cpu, 1 threads per child" in result.output  # the device actually used, and --threads
    assert "best found" in result.output and "M MACs" in result.output and "best predicted" in result.output
    assert "measurement noise explains" in result.output
    result = runner.invoke(main, ["select", "m", "--storage", url, "--budget", "macs<=2e6", "--pool", 300,
                                  "--out", str(tmp_path / "sel.csv")])
    assert result.exit_code == 0, result.output
    import csv

    with open(tmp_path / "sel.csv") as handle:
        row = next(csv.DictReader(handle))
    space = mobilenetv3_space()
    arch = {c.name: row[c.name] for c in space.choices}
    counted = count_plan(mobilenetv3_plan(arch, 0.25, 12, 10, 1))  # the study's stored width/resolution/dataset
    assert float(row["macs"]) == counted.macs <= 2e6


def test_batch_size_and_learning_rate_follow_the_data_size():
    from gpnas.nets.training import auto_batch_size, auto_learning_rate

    assert auto_batch_size(1437) == 16  # digits' training split: ~90 steps per epoch, not 23
    assert auto_batch_size(4000) == 32  # the MNIST sample
    assert auto_batch_size(45000) == 128 and auto_batch_size(10) == 16
    assert auto_learning_rate(16) == pytest.approx(0.05)
    assert auto_learning_rate(64) == pytest.approx(0.1)  # square-root scaling
    with pytest.raises(ValueError):
        auto_batch_size(0)


def test_every_child_sees_the_same_batches_common_random_numbers():
    """The data order is a function of the seed alone, so two children of a study see identical batches."""
    from gpnas.nets.training import batch_orders

    a, b = batch_orders(100, 3, seed=4), batch_orders(100, 3, seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], a[1])  # reshuffled every epoch
    assert not torch.equal(a[0], batch_orders(100, 1, seed=5)[0])
    assert sorted(a[2].tolist()) == list(range(100))


def test_one_epoch_already_learns():
    """The main job's data and recipe: one epoch must be far above chance (a batch of 64 gave 9-10 %)."""
    objective = TrainingObjective(resolution=12, width=0.25, epochs=3)
    arch = mobilenetv3_space().to_dict_arch(np.ones(45, dtype=int))
    assert objective(arch, budget=1) > 50.0


def test_a_budget_must_be_whole_epochs():
    objective = TrainingObjective(resolution=8, width=0.25, epochs=1)
    arch = mobilenetv3_space().to_dict_arch(np.zeros(45, dtype=int))
    for bad in (1.5, 0):
        with pytest.raises(ValueError, match="whole number of epochs"):
            objective(arch, budget=bad)


def test_settings_stored_by_older_studies_still_give_the_objective():
    from gpnas.nets.defaults import objective_from_settings

    stored = {"dataset": "digits", "resolution": 16, "width": 0.35, "epochs": 3, "batch_size": 64, "lr": 0.1,
              "warmup_epochs": 1, "val_fraction": 0.2, "seed": 0}
    objective = objective_from_settings(mobilenetv3_space(), stored)
    assert objective.width == 0.35 and objective.batch_size == 64 and not hasattr(objective, "warmup_epochs")


def test_train_loss_is_the_mean_loss_of_each_batch_before_its_update():
    """With a learning rate of 0 the weights never move, so the reported training loss must equal the mean
    cross-entropy of the initial network (train mode: batch statistics, the same dropout draws) on the same
    batches, recomputed here by hand."""
    from gpnas.nets.training import batch_orders

    rng = np.random.default_rng(1)
    X, y = rng.random((40, 1, 12, 12)).astype(np.float32), rng.integers(0, 3, 40)
    plan = mobilenetv3_plan(mobilenetv3_space().sample(1, random_state=2)[0], 0.25, 12, 3, 1)
    torch.manual_seed(0)
    net = build_network(plan)
    config = TrainConfig(epochs=1, lr=0.0, batch_size=16, seed=3, channels_last=False)
    reference = build_network(plan)
    reference.load_state_dict(net.state_dict())
    train_classifier(net, X, y, X, y, config)
    torch.manual_seed(3)  # train_classifier seeds torch with config.seed before its first batch
    reference.train()
    losses = []
    with torch.no_grad():
        for start in range(0, 40, 16):
            idx = batch_orders(40, 1, 3)[0][start:start + 16]
            logits = reference(torch.from_numpy(X)[idx])
            losses.append(float(torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)[idx])))
    assert config.history[-2]["loss"] == pytest.approx(np.mean(losses), rel=1e-5)


def test_scores_report_the_train_loss_and_split_seed_fixes_the_validation_split():
    arch = mobilenetv3_space().to_dict_arch(np.zeros(45, dtype=int))
    scores = TrainingObjective(resolution=8, width=0.25, epochs=1).scores(arch)
    assert set(scores) == {"accuracy", "log_loss", "train_loss"} and scores["train_loss"] > 0
    for objective, split_seed in ((TrainingObjective(seed=1, split_seed=0), 0), (TrainingObjective(seed=1), 1)):
        for got, expected in zip(objective.split(), split_holdout(1797, 0.2, split_seed)):
            np.testing.assert_array_equal(got, expected)
    assert not np.array_equal(np.sort(split_holdout(1797, 0.2, 0)[1]), np.sort(split_holdout(1797, 0.2, 1)[1]))
