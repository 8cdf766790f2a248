"""One worker process of ``benchmarks/scale.py --sections workers``: joins (or creates) a shared study and searches
NAS-Bench-201 CIFAR-10 with the default strategy, each evaluation a table lookup after ``SLEEP`` seconds of waiting
(a trial that waits on a GPU or a remote job).

    python benchmarks/_scale_worker.py STORAGE STUDY BUDGET SLEEP SEED
"""

import sys
import time

from gpnas.io.tables import load_table
from gpnas.study import create_study

if __name__ == "__main__":
    url, name, budget, sleep, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    table = load_table("nb201-cifar10").deduplicated()
    values = {tuple(int(v) for v in x): float(y) for x, y in zip(table.X, table.y)}

    def objective(arch):
        time.sleep(sleep)
        return values[tuple(int(v) for v in table.space.from_dict_arch(arch))]

    study = create_study(table.space, storage=url, study_name=name, load_if_exists=True, seed=seed,
                         candidates=table.X)
    print("ready", flush=True)
    study.optimize(objective, budget=budget, batch_size=1)
