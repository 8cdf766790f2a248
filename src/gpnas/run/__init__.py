"""Evaluating architectures: executors (in process, process pool, Ray) and the table-lookup objective."""

from gpnas.run.executors import Executor, InProcessExecutor, ProcessPoolExecutor
from gpnas.run.factory import make_executor
from gpnas.run.table_objective import TableObjective

__all__ = ["Executor", "InProcessExecutor", "ProcessPoolExecutor", "TableObjective", "make_executor"]
