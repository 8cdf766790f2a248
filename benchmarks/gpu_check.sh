#!/usr/bin/env bash
# GPU check: the torch tests with CUDA picked by device "auto", then a short real search on CUDA, and one epoch of a
# MobileNetV3 child timed on the GPU against the CPU in the same run.  Needs torch with CUDA; gpnas from src/.
# Usage: bash benchmarks/gpu_check.sh [OUTPUT_DIR]
set -uo pipefail
out=${1:-gpu_check_out}
mkdir -p "$out"
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
python3 - <<'PY' 2>&1 | tee "$out/device.txt"
import torch
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
PY
python3 -m pytest -q -p no:cacheprovider tests/nets 2>&1 | tee "$out/tests.txt"
(cd "$out" && python3 -m gpnas search --device cuda --budget 4 --batch-size 2 --n-initial 2 --epochs 2 \
    --storage sqlite:///gpu.db --out run.json 2>&1 | grep -v "trial/s" | tee search.txt)
python3 - <<'PY' 2>&1 | tee "$out/epoch_timing.txt"
import time, numpy as np, torch
from gpnas.nets import mobilenetv3_plan, mobilenetv3_space
from gpnas.nets.torch_models import build_network
from gpnas.nets.training import TrainConfig, train_classifier
rng = np.random.default_rng(0)
X = rng.random((2048, 3, 32, 32)).astype(np.float32); y = rng.integers(0, 10, 2048)
arch = mobilenetv3_space().sample(1, random_state=0)[0]
for device in ("cuda", "cpu"):
    times = []
    for _ in range(2):
        net = build_network(mobilenetv3_plan(arch, 1.0, 32, 10, 3))
        start = time.perf_counter()
        train_classifier(net, X, y, X[:256], y[:256], TrainConfig(epochs=1, batch_size=128, device=device,
                                                                    num_threads=None))
        times.append(time.perf_counter() - start)
    print(f"{device}: one epoch of 2048 CIFAR-sized images, width 1.0: {min(times):.2f} s (best of 2)")
PY
