"""The built-in search spaces by name: the paper's networks and the spaces of the public benchmark tables."""

from __future__ import annotations

from gpnas.space import SearchSpace

BUILTIN_SPACES = ("mobilenetv3-large", "mobilefacenet", "nasbench201", "nasbench-macro", "accel-nasbench",
                  "nas-bench-graph")


def resolve_space(text: str) -> SearchSpace:
    """A built-in space by name (:data:`BUILTIN_SPACES`), or a space file (.yaml/.json)."""
    from gpnas.io import nas_bench_graph, tables
    from gpnas.nets import spaces

    builtin = {"mobilenetv3-large": spaces.mobilenetv3_space, "mobilefacenet": spaces.mobilefacenet_space,
               "nasbench201": tables.nasbench201_space, "nasbench-macro": tables.nasbench_macro_space,
               "accel-nasbench": tables.accel_nasbench_space,
               "nas-bench-graph": nas_bench_graph.nasbench_graph_space}  # needs the graph extra
    if text in builtin:
        return builtin[text]()
    return SearchSpace.load(text)
