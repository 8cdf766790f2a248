"""A search run as its own process by the process-level tests (SIGKILL, SIGSTOP, two processes on one study).

    python study_worker.py STORAGE BUDGET SLEEP SEED SAMPLER STUDY [HEARTBEAT_INTERVAL GRACE]

Prints ``ready`` once the study exists.  The objective is deterministic, so a test can check every stored value.
"""

import sys
import time

from gpnas.space import make_space
from gpnas.study import create_study

SPACE = make_space([(f"p{j}", list(range(4)), "a" if j < 3 else "b") for j in range(6)])


def value(x):
    return float((x[0] - 1.5) ** 2 - x[1] * x[3] + 0.3 * x[2] + 0.7 * x[4] - 0.2 * x[5] * x[0])


def objective(arch):
    time.sleep(float(sys.argv[3]))
    return value(SPACE.from_dict_arch(arch))


if __name__ == "__main__":
    beats = {"heartbeat_interval": float(sys.argv[7]), "heartbeat_grace": float(sys.argv[8])} if len(sys.argv) > 7 \
        else {}
    study = create_study(SPACE, sampler=sys.argv[5], storage=sys.argv[1], study_name=sys.argv[6], load_if_exists=True,
                         seed=int(sys.argv[4]), n_initial=4 if sys.argv[5] == "ucb" else 6, **beats)
    print("ready", flush=True)
    study.optimize(objective, budget=int(sys.argv[2]), batch_size=3 if sys.argv[5] == "ucb" else 4)
