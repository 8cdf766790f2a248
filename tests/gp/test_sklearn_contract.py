"""scikit-learn's own estimator contract (``check_estimator``) on :class:`GPNASRegressor`, and the input errors it
asks for, as a scikit-learn user meets them."""

import numpy as np
import pytest
import scipy.sparse

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from gpnas import GPNASRegressor  # noqa: E402
from gpnas.exceptions import ArchitectureError, DataError, NotFittedError  # noqa: E402

#: Checks that do not apply to the model, and why (docs/model.md lists them too).
NOT_APPLICABLE = {
    # needs SCIPY_ARRAY_API=1 and an array-API namespace; the model's linear algebra is SciPy's LAPACK on NumPy
    "check_array_api_input": "skipped",
}


def test_check_estimator_passes_every_check_that_applies():
    results = check_estimator(GPNASRegressor(random_state=0), on_fail=None, on_skip=None)
    outcomes = {}
    for result in results:
        outcomes.setdefault(result["check_name"], set()).add(result["status"])
    assert len(outcomes) >= 45  # the whole suite ran, not a handful of checks
    failed = {name: status for name, status in outcomes.items() if status != {"passed"}}
    assert failed == {name: {status} for name, status in NOT_APPLICABLE.items()}


def test_tags_say_non_negative_integer_choices():
    tags = GPNASRegressor().__sklearn_tags__()
    assert tags.input_tags.categorical and tags.input_tags.positive_only
    assert not tags.input_tags.sparse and not tags.input_tags.allow_nan and tags.target_tags.required


def test_n_features_in_and_inferred_options():
    X = np.array([[0, 2], [1, 0], [1, 1], [0, 2]])
    model = GPNASRegressor(random_state=0).fit(X, [1.0, 2.0, 3.0, 1.5])
    assert model.n_features_in_ == 2 and list(model.n_options_) == [2, 3]
    with pytest.raises(ArchitectureError, match="index 3 at position 1 is outside 0..2"):
        model.predict(np.array([[0, 3]]))


def test_unfitted_predict_is_sklearns_not_fitted_error():
    with pytest.raises(SklearnNotFittedError):
        GPNASRegressor().predict(np.zeros((1, 3), dtype=int))
    with pytest.raises(NotFittedError):
        GPNASRegressor().predict(np.zeros((1, 3), dtype=int))


@pytest.mark.parametrize("bad, message", [(np.nan, "contains NaN"), (np.inf, "contains infinity")])
def test_nan_and_inf_are_named(bad, message, small_space):
    X = np.array([[0.0, 1.0], [1.0, bad], [1.0, 0.0]])
    with pytest.raises(ArchitectureError, match=message):
        GPNASRegressor().fit(X, [1.0, 2.0, 3.0])
    X5 = np.zeros((3, 5))
    X5[1, 2] = bad
    with pytest.raises(ArchitectureError, match=message):
        GPNASRegressor(space=small_space).fit(X5, [1.0, 2.0, 3.0])


def test_missing_y_sparse_x_and_fractions_are_named():
    X = np.array([[0, 1], [1, 0], [1, 1]])
    with pytest.raises(DataError, match="requires y to be passed, but the target y is None"):
        GPNASRegressor().fit(X, None)
    with pytest.raises(ArchitectureError, match="does not accept sparse input"):
        GPNASRegressor().fit(scipy.sparse.csr_matrix(X), [1.0, 2.0, 3.0])
    with pytest.raises(ArchitectureError, match="fractional values"):
        GPNASRegressor().fit(X + 0.5, [1.0, 2.0, 3.0])
    with pytest.raises(ArchitectureError, match="Negative values"):
        GPNASRegressor().fit(X - 1, [1.0, 2.0, 3.0])
