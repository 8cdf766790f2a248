import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

from gpnas.exceptions import DataError  # noqa: E402
from gpnas.nets.face import FaceObjective, arc_margin_head, read_pairs, verification_accuracy  # noqa: E402
from gpnas.nets.spaces import mobilefacenet_space  # noqa: E402


def _brute_force_10fold(sim, same):
    """Independent re-derivation: every threshold between sorted similarities, per fold."""
    accs = []
    for k in range(10):
        test = np.arange(len(sim)) % 10 == k
        best_t, best_acc = None, -1
        for t in np.concatenate([[-2.0], np.sort(sim[~test])]):
            acc = np.mean((sim[~test] > t) == same[~test])
            if acc > best_acc:
                best_t, best_acc = t, acc
        accs.append(np.mean((sim[test] > best_t) == same[test]))
    return np.mean(accs)


def test_verification_accuracy_protocol():
    rng = np.random.default_rng(0)
    same = rng.random(200) < 0.5
    a = rng.standard_normal((200, 16))
    b = np.where(same[:, None], a + 0.3 * rng.standard_normal((200, 16)), rng.standard_normal((200, 16)))
    acc = verification_accuracy(a, b, same)
    assert acc > 0.95
    cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert acc == pytest.approx(_brute_force_10fold(cos, same))
    random = verification_accuracy(a, rng.standard_normal((200, 16)), same)
    assert 0.3 < random < 0.7


def test_arcface_margin_lowers_the_true_class_logit():
    head = arc_margin_head(8, 4, scale=10.0, margin=0.5)
    features = torch.randn(6, 8)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    plain, margin = head(features), head(features, labels)
    rows = torch.arange(6)
    assert torch.all(margin[rows, labels] < plain[rows, labels])
    mask = torch.ones_like(plain, dtype=torch.bool)
    mask[rows, labels] = False
    assert torch.allclose(margin[mask], plain[mask])


def _make_faces(root, identities=5, per_identity=12, size=24):
    """Synthetic 'faces': each identity a fixed random pattern, each image a noisy shifted copy."""
    from PIL import Image

    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 255, (identities, size, size, 3))
    for split in ("train", "lfw"):
        for p in range(identities):
            name = f"person{p}"
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(1, per_identity + 1):
                image = np.roll(patterns[p], rng.integers(-2, 3), axis=1) + rng.normal(0, 10, patterns[p].shape)
                path = folder / (f"{name}_{i:04d}.png" if split == "lfw" else f"{i}.png")
                Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)
    lines = ["10\t20"]
    for k in range(100):
        p = k % identities
        q = (p + 1 + (k // identities) % (identities - 1)) % identities  # never p
        i, j = rng.choice(np.arange(1, per_identity + 1), 2, replace=False)
        lines.append(f"person{p}\t{i}\t{j}" if k % 2 == 0 else f"person{p}\t{i}\tperson{q}\t{j}")
    (root / "pairs.txt").write_text("\n".join(lines) + "\n")


def test_face_search_objective_trains_and_verifies(tmp_path):
    _make_faces(tmp_path)
    objective = FaceObjective(str(tmp_path / "train"), str(tmp_path / "lfw"), str(tmp_path / "pairs.txt"),
                              resolution=24, width=0.35, embedding=32, epochs=12, batch_size=16, lr=0.02)
    arch = mobilefacenet_space().to_dict_arch(np.zeros(30, dtype=int))
    accuracy = objective(arch)
    assert 62.0 <= accuracy <= 100.0  # well above the 50 % of chance on these separable identities
    assert objective.costs(arch)["macs"] > 0


def test_pairs_file_errors(tmp_path):
    (tmp_path / "p.txt").write_text("10 300\nalice 1\n")
    with pytest.raises(DataError, match="line 2"):
        read_pairs(tmp_path / "p.txt")
    with pytest.raises(DataError, match="does not exist"):
        read_pairs(tmp_path / "none.txt")


def test_face_search_from_the_command_line(tmp_path):
    from click.testing import CliRunner

    from gpnas.cli import main

    _make_faces(tmp_path / "faces")
    args = ["search", "--dataset", "faces", "--data-dir", str(tmp_path / "faces"), "--resolution", "24", "--width",
            "0.35", "--epochs", "2", "--budget", "3", "--batch-size", "1", "--n-initial", "2",
            "--storage", f"sqlite:///{tmp_path / 'f.db'}", "--out", str(tmp_path / "run.json")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "3 done" in result.output and "M MACs" in result.output
    missing = CliRunner().invoke(main, ["search", "--dataset", "faces", "--storage",
                                        f"sqlite:///{tmp_path / 'f.db'}"])
    assert missing.exit_code != 0 and "needs --data-dir" in missing.output
