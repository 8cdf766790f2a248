"""``AutoSampler(batch_beta=...)``: a batch's own UCB weight, and a study stored before it existed."""

import json
import sqlite3

import numpy as np
import pytest

from gpnas import create_study, load_study
from gpnas.sampling.strategies import AutoSampler, SamplingContext
from additive import additive_study  # tests/sampling is on sys.path (pytest prepends a test file's folder)


def _context(seed: int = 3, pending=None):
    space, X, y, model = additive_study(10)  # few points: the uncertainty, and so the weight, matters
    pending = X[:0] if pending is None else pending
    return SamplingContext(space, X, y, pending, X[:0], np.random.default_rng(seed), model)


def test_a_batch_proposes_as_a_sampler_whose_beta_is_the_batch_s():
    # the same context and random numbers: batch_beta must act exactly as that beta would
    batch = AutoSampler(beta=10.0, batch_beta=0.0).propose(_context(), 4)
    plain = AutoSampler(beta=0.0, batch_beta=None).propose(_context(), 4)
    np.testing.assert_array_equal(batch, plain)
    wide = AutoSampler(beta=10.0, batch_beta=None).propose(_context(), 4)
    assert not np.array_equal(batch, wide)  # and the weight matters here, so the check above can fail


def test_one_proposal_at_a_time_keeps_beta_even_with_evaluations_pending():
    space, X, y, _ = additive_study(10)
    pending = space.sample(3, random_state=9)
    one = AutoSampler(beta=10.0, batch_beta=0.0).propose(_context(pending=pending), 1)
    np.testing.assert_array_equal(one, AutoSampler(beta=10.0, batch_beta=None).propose(_context(pending=pending), 1))
    assert not np.array_equal(one, AutoSampler(beta=0.0, batch_beta=None).propose(_context(pending=pending), 1))


def test_the_sampler_keeps_its_settings_after_a_batch():
    sampler = AutoSampler(beta=3.0, batch_beta=2.0)
    sampler.propose(_context(), 4)
    assert (sampler.beta, sampler.batch_beta) == (3.0, 2.0)
    assert sampler.get_params()["batch_beta"] == 2.0


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), "wide", [2.0]])
def test_a_bad_batch_beta_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="batch_beta"):
        AutoSampler(batch_beta=bad)


def test_a_study_stored_before_batch_beta_existed_resumes_with_beta_for_its_batches(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    space, *_ = additive_study(5)
    create_study(space, seed=0, storage=url, study_name="old")
    assert load_study("old", url).sampler.batch_beta == 2.0  # stored with the study
    with sqlite3.connect(tmp_path / "old.db") as conn:
        (settings,) = conn.execute("SELECT settings FROM studies WHERE name = 'old'").fetchone()
        stored = json.loads(settings)
        del stored["sampler_params"]["batch_beta"]
        conn.execute("UPDATE studies SET settings = ? WHERE name = 'old'", (json.dumps(stored),))
    assert load_study("old", url).sampler.batch_beta is None
