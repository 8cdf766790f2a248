import os
import signal

from gpnas.executors import ProcessPoolExecutor
from gpnas.study import Study


class KillOnce:
    """Kills its worker process on the first call for ``victim`` (marker file), and on every call for ``always``."""

    def __init__(self, space, marker_dir, victim, always):
        self.space, self.marker_dir, self.victim, self.always = space, marker_dir, victim, always

    def __call__(self, arch):
        x = self.space.from_dict_arch(arch)
        key = "".join(map(str, x))
        marker = os.path.join(self.marker_dir, "killed-" + key)
        if key == self.always or (key == self.victim and not os.path.exists(marker)):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return float(x.sum())


def test_process_pool_retries_a_killed_worker_then_fails_the_trial(tmp_path, small_space):
    victim, always = "10101", "21010"
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    study.enqueue({"k0": 5, "k1": 3, "e0": 6, "e1": 3, "se0": "on"})   # 10101: dies once, then succeeds
    study.enqueue({"k0": 7, "k1": 5, "e0": 3, "e1": 6, "se0": "off"})  # 21010: dies on every attempt
    # one trial in flight at a time: a pool's death then belongs to exactly one trial (see the executor's docstring)
    study.optimize(KillOnce(small_space, str(tmp_path), victim, always), budget=8, batch_size=1,
                   executor=ProcessPoolExecutor(2, max_retries=1))
    by_key = {"".join(map(str, t.arch)): t for t in study.trials}
    assert len(study.trials_in("done", "failed")) == 8
    assert by_key[victim].state == "done" and by_key[victim].value == 3.0 and by_key[victim].attempts >= 1
    assert by_key[always].state == "failed" and "died" in by_key[always].error
    others = [t for k, t in by_key.items() if k not in (victim, always)]
    assert all(t.state == "done" and t.value == float(t.arch.sum()) for t in others)
