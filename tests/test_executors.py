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
    # one trial in flight at a time here; trials side by side are the next test's
    study.optimize(KillOnce(small_space, str(tmp_path), victim, always), budget=8, batch_size=1,
                   executor=ProcessPoolExecutor(2, max_retries=1))
    by_key = {"".join(map(str, t.arch)): t for t in study.trials}
    assert len(study.trials_in("done", "failed")) == 8
    assert by_key[victim].state == "done" and by_key[victim].value == 3.0 and by_key[victim].attempts >= 1
    assert by_key[always].state == "failed" and "died" in by_key[always].error
    others = [t for k, t in by_key.items() if k not in (victim, always)]
    assert all(t.state == "done" and t.value == float(t.arch.sum()) for t in others)


class Slow:
    """Sleeps, then returns; kills its worker for ``always``."""

    def __init__(self, space, always):
        self.space, self.always = space, always

    def __call__(self, arch):
        import time

        x = self.space.from_dict_arch(arch)
        if "".join(map(str, x)) == self.always:
            time.sleep(0.2)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.6)
        return float(x.sum())


def test_a_healthy_trial_beside_a_crashing_one_keeps_its_retries(small_space):
    always = "21010"
    study = Study(small_space, sampler="random", seed=0, fit_model=False)
    study.enqueue({"k0": 7, "k1": 5, "e0": 3, "e1": 6, "se0": "off"})  # 21010: dies on every attempt
    study.enqueue({"k0": 3, "k1": 3, "e0": 3, "e1": 3, "se0": "off"})  # 00000: healthy, runs beside it
    study.optimize(Slow(small_space, always), budget=2, batch_size=2, executor=ProcessPoolExecutor(2, max_retries=1))
    by_key = {"".join(map(str, t.arch)): t for t in study.trials}
    assert by_key[always].state == "failed" and by_key[always].attempts == 1
    assert by_key["00000"].state == "done" and by_key["00000"].attempts == 0  # resubmitted, never charged
