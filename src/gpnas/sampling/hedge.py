"""GP-Hedge (Hoffman, Brochu and de Freitas, UAI 2011): a portfolio of acquisition functions, each nominating a
candidate every round; one nominee is chosen with probability ``softmax(eta * gains)``, and after the next fit every
acquisition's gain grows by the posterior mean at its own last nominee (chosen or not), so the portfolio leans
towards the acquisitions whose picks the model comes to believe in.

The gains live in the :class:`Hedge` object (a sampler's state), not in the study: a resumed study starts them
again from zero.
"""

from __future__ import annotations

import numpy as np

#: The portfolio: (acquisition, UCB's beta); ``None`` is the sampler's own beta, and UCB with beta 0 is the
#: posterior mean (pure exploitation).
PORTFOLIO: tuple[tuple[str, float | None], ...] = (("ucb", None), ("ei", 0.0), ("ucb", 0.0))


class Hedge:
    """The portfolio's gains and last nominees: :meth:`update` with each new model, then :meth:`choose`."""

    def __init__(self, n_arms: int, eta: float = 1.0) -> None:
        if not (np.isfinite(eta) and eta > 0):
            raise ValueError(f"the hedge's eta must be a positive number, got {eta!r}")
        self.gains = np.zeros(int(n_arms))
        self.eta = float(eta)
        self.last: np.ndarray | None = None  # (n_arms, d): the architectures the arms nominated last round

    def update(self, posterior_mean) -> None:
        """Add ``posterior_mean(last nominees)`` (larger is better) to the gains: the new model's verdict on what
        every arm proposed last round."""
        if self.last is not None:
            self.gains += np.asarray(posterior_mean(self.last), dtype=float)
            self.last = None

    def probabilities(self) -> np.ndarray:
        logits = self.eta * (self.gains - self.gains.max())
        p = np.exp(logits)
        return p / p.sum()

    def choose(self, nominees: np.ndarray, rng: np.random.Generator) -> int:
        """The arm whose nominee is taken this round; remembers every nominee for the next :meth:`update`."""
        self.last = np.asarray(nominees)
        return int(rng.choice(len(self.gains), p=self.probabilities()))
