"""gpnas inside other tools: Optuna's sampler interface (and Ray Tune through Optuna's searcher)."""
