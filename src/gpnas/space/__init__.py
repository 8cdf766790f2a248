"""The search space: per-layer choices grouped by operation type, cells, and the encodings the model reads."""

from gpnas.space.search_space import Choice, SearchSpace, compact_arch, format_arch, make_space

__all__ = ["Choice", "SearchSpace", "compact_arch", "format_arch", "make_space"]
