"""A surrogate objective over the whole Accel-NASBench space (5.9e11 architectures) for the huge-space benchmarks.

XGBoost (independent of the GP, so the benchmark is not a GP fitting a GP) is fitted on all 5,125 distinct measured
architectures (ImageNet top-1 after proxy training; duplicates averaged), with the choices as ordered numbers.  Its
optimum is found by a long evolution (250 generations of 200, tournaments of 10, one-position mutations) followed
by steepest-ascent hill climbing from the 50 best architectures seen; the regret of an architecture is that optimum
minus its surrogate value (percentage points).  The optimum is only the best found by that long run, so a search could
in principle beat it (a negative regret would show it).
"""

from __future__ import annotations

import functools

import numpy as np


class AccelSurrogate:
    """``value(X)``: surrogate top-1 (%) of architectures ``X (n, 28)`` (choice indices of the Accel space)."""

    def __init__(self, data_dir=None, seed: int = 0):
        import xgboost as xgb

        from gpnas.io.tables import load_accel_nasbench

        table = load_accel_nasbench(data_dir_=data_dir).deduplicated()
        self.space = table.space
        self.values = np.array([np.array(c.values, dtype=float) for c in self.space.choices], dtype=object)
        self.model = xgb.XGBRegressor(n_estimators=600, max_depth=6, learning_rate=0.05, subsample=0.8,
                                      colsample_bytree=0.8, random_state=seed, n_jobs=1)
        self.model.fit(self._features(table.X), table.y)
        self.n_train = table.X.shape[0]

    def _features(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=int).reshape(-1, self.space.n_positions)
        return np.column_stack([np.asarray(self.space.choices[j].values, dtype=float)[X[:, j]]
                                for j in range(X.shape[1])])

    def value(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(self._features(X)).astype(float)

    @functools.cached_property
    def optimum(self) -> tuple[np.ndarray, float]:
        """The best architecture a long evolution plus hill climbing finds, and its value."""
        from gpnas.sampling.acquisition_search import local_search

        rng = np.random.default_rng(12345)
        space = self.space
        population = space.sample(200, random_state=rng)
        fitness = self.value(population)
        seen_X, seen_y = [population], [fitness]
        for _ in range(250):  # 250 generations of 200 children: 50,000 evaluations
            contestants = rng.integers(0, population.shape[0], (200, 10))
            parents = population[contestants[np.arange(200), np.argmax(fitness[contestants], axis=1)]]
            children = parents.copy()
            for row in children:
                j = rng.integers(0, space.n_positions)
                row[j] = (row[j] + rng.integers(1, space.n_options[j])) % space.n_options[j]
            child_fitness = self.value(children)
            population, fitness = children, child_fitness  # the parents age out after one generation
            seen_X.append(children)
            seen_y.append(child_fitness)
        X, y = np.vstack(seen_X), np.concatenate(seen_y)
        starts = X[np.argsort(-y)[:50]]
        visited = local_search(space, self.value, starts, max_steps=50)
        values = self.value(visited)
        best = int(np.argmax(values))
        return visited[best], float(values[best])
