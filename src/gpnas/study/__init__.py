"""Studies: the search loop (Algorithm 1) with ask/tell, multi-budget studies, recommendations and per-device
selection."""

from gpnas.study.study import Round, Study, create_study, load_study
from gpnas.study.trial import FAIL_FAST, Trial

__all__ = ["FAIL_FAST", "Round", "Study", "Trial", "create_study", "load_study"]
