import shutil
import subprocess

import numpy as np
import pytest

# the report needs the report extra (the test extra installs it): a missing matplotlib fails here, it is not skipped
from gpnas.report import held_out_predictions, write_report  # noqa: E402, I001
from gpnas.study.select import pareto_front
from gpnas.study import Study


def test_pareto_front_against_brute_force():
    rng = np.random.default_rng(0)
    cost, score = rng.random(200), rng.random(200)
    front = set(pareto_front(cost, score))
    dominated = {i for i in range(200) if any(cost[j] <= cost[i] and score[j] >= score[i] and
                                              (cost[j] < cost[i] or score[j] > score[i]) for j in range(200))}
    assert front == set(range(200)) - dominated


@pytest.fixture
def study(tmp_path, small_space):
    s = Study(small_space, sampler="mi", seed=0, n_initial=5, storage=f"sqlite:///{tmp_path / 'r.db'}",
              study_name="rep")
    s.optimize(lambda a: float(small_space.from_dict_arch(a).sum() + (a["se0"] == "on")), budget=25, batch_size=5)
    return s


def test_held_out_predictions_use_the_proposing_round(study):
    measured, mean, interval, numbers = held_out_predictions(study)
    assert len(measured) == 20  # the 5 initial random trials had no model
    first = study.trials[int(numbers[0])]
    model = study.model_at(first.round)
    assert model.X_train_.shape[0] <= first.number  # fitted before this trial existed
    assert tuple(first.arch) not in {tuple(x) for x in model.X_train_}
    assert np.all((interval[:, 0] < mean) & (mean < interval[:, 1]))


def test_report_renders_in_headless_chromium(tmp_path, study, small_space):
    costs = {tuple(x): float(np.prod(x + 1)) for x in small_space.enumerate()}
    path = write_report(study, tmp_path / "report", costs, "FLOPs")
    images = ["predicted_vs_measured.png", "best_so_far.png", "expected_mse.png", "hyperparameters.png", "pareto.png"]
    for name in images:
        assert (tmp_path / "report" / name).stat().st_size > 5000
    text = path.read_text()
    assert all(name in text for name in images) and "best found" in text
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.fail("Debian's chromium is needed to check the report renders (apt-get install chromium)")
    check = tmp_path / "report" / "check.html"
    check.write_text(text.replace("</body>", """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 100).length;
  document.body.setAttribute('data-loaded', ok + '/' + imgs.length);
});
</script></body>"""))
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
         "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom", check.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert 'data-loaded="5/5"' in result.stdout, result.stderr[-2000:]
    shot = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chrome'}",
         f"--screenshot={tmp_path / 'shot.png'}", "--window-size=1100,2400", path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert (tmp_path / "shot.png").stat().st_size > 20000, shot.stderr[-2000:]


def test_a_training_study_gets_its_pareto_figure_without_costs_and_a_table_study_a_word(tmp_path, study):
    from gpnas.nets import mobilenetv3_space
    from gpnas.nets.defaults import make_training_objective

    space = mobilenetv3_space()
    objective = make_training_objective(space, "digits", None, 1, 0.25, 12, None, "cpu", 0)
    described = {k: v for k, v in vars(objective).items() if not k.startswith("_") and k != "device"}
    trained = Study(space, sampler="random", seed=0, user_attrs={"objective": described}, heartbeat_interval=None)
    rng = np.random.default_rng(0)
    for trial in trained.ask(8):  # values stand in for trainings: the figure needs the model and the MACs only
        trained.tell(trial, float(90 + rng.normal()))
    trained.refit()
    page = write_report(trained, tmp_path / "trained").read_text()
    assert (tmp_path / "trained" / "pareto.png").stat().st_size > 5000 and "against MACs" in page
    table_page = write_report(study, tmp_path / "table").read_text()  # no costs known, none given
    assert not (tmp_path / "table" / "pareto.png").exists() and "no Pareto figure" in table_page
    assert "measurement noise explains" in table_page and "Kendall tau" in table_page
