"""Search spaces: an architecture is a vector of per-position choices (the paper's Eq. 1).

A :class:`SearchSpace` is an ordered list of :class:`Choice` objects.  Each choice has a name, the list of values it can
take, and the *operation type* (group) it belongs to (Eq. 6: kernel size, expansion ratio, SE on/off, op, ...).  The
model's kernel has one term per group (Eq. 7-8), so the groups are what the model learns separate scales for.

Architectures are handled as integer vectors ``x (d,)`` (or arrays ``X (n, d)``) of per-position *choice indices*:
``X[i, j]`` indexes ``space.choices[j].values``.  Human-facing forms are a ``{name: value}`` dict and a canonical
string ``"name=value,name=value,..."``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from gpnas.space.cell import Cell, CellFeatures
from gpnas.space.linked_cell import LinkedCell, LinkedCellFeatures
from gpnas.exceptions import ArchitectureError, SpaceError

#: Spaces larger than this are never enumerated (``SearchSpace.enumerate`` raises instead).
MAX_ENUMERATION = 2_000_000
#: Most positions a space may have (a ``repeat`` of millions would exhaust memory before anything useful happens).
MAX_POSITIONS = 10_000

_RESERVED = {",", "="}


def _check_token(text: str, what: str) -> None:
    if not text or any(ch in text for ch in _RESERVED) or text != text.strip():
        raise SpaceError(f"{what} {text!r} must be non-empty, without ',' or '=' and without surrounding spaces")


@dataclass(frozen=True)
class Choice:
    """One position of an architecture.

    Parameters
    ----------
    name:
        Unique name of the position (a column name in data files).
    values:
        The options at this position, numbers or strings, at least one, no duplicates.
    group:
        The operation type this position belongs to; positions sharing a group share one kernel term.
    """

    name: str
    values: tuple
    group: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SpaceError(f"choice name must be a string, got {self.name!r}")
        _check_token(self.name, "choice name")
        if not isinstance(self.group, str) or not self.group:
            raise SpaceError(f"choice {self.name!r}: group must be a non-empty string, got {self.group!r}")
        values = tuple(self.values) if isinstance(self.values, (list, tuple)) else None
        if not values:
            raise SpaceError(f"choice {self.name!r}: values must be a non-empty list, got {self.values!r}")
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise SpaceError(
                    f"choice {self.name!r}: value {value!r} must be a number or a string"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise SpaceError(f"choice {self.name!r}: value {value!r} is not finite")
            _check_token(str(value), f"choice {self.name!r}: value")
        labels = [str(v) for v in values]
        if len(set(labels)) != len(labels):
            raise SpaceError(f"choice {self.name!r}: duplicate values in {list(values)!r}")
        object.__setattr__(self, "values", values)

    @property
    def n_options(self) -> int:
        """Number of values this position can take."""
        return len(self.values)

    def index_of(self, value: Any) -> int:
        """Index of ``value`` among this choice's values.

        Accepts the value itself, its string form (as read from a CSV file), or an equal number (``"3"``, ``3.0``).
        """
        for i, v in enumerate(self.values):
            if v == value and type(v) is not bool:
                return i
        text = str(value).strip()
        for i, v in enumerate(self.values):
            if str(v) == text:
                return i
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None:
            for i, v in enumerate(self.values):
                if isinstance(v, (int, float)) and float(v) == number:
                    return i
        raise ArchitectureError(
            f"choice {self.name!r}: unknown value {value!r}; expected one of {list(self.values)!r}"
        )

    def to_dict(self) -> dict:
        return {"name": self.name, "values": list(self.values), "group": self.group}


class SearchSpace:
    """An ordered list of choices; architectures are integer vectors of choice indices.

    Parameters
    ----------
    choices:
        The positions, in order.  Names must be unique.
    name:
        A name for the space (used in reports and saved models).
    cell:
        Optional :class:`~gpnas.space.cell.Cell`: which positions are the edges of a cell, so that the model can see the
        network they form (dead edges, isomorphic cells; see :mod:`gpnas.space.cell`); or a
        :class:`~gpnas.space.linked_cell.LinkedCell`: which position wires a DAG of operation nodes and which are
        the nodes' operations (:mod:`gpnas.space.linked_cell`).
    """

    def __init__(self, choices: Sequence[Choice], name: str = "space",
                 cell: Cell | LinkedCell | None = None) -> None:
        choices = tuple(choices)
        if not choices:
            raise SpaceError(f"space {name!r} has no choices")
        if len(choices) > MAX_POSITIONS:
            raise SpaceError(f"space {name!r} has {len(choices)} positions, more than the {MAX_POSITIONS} allowed")
        for c in choices:
            if not isinstance(c, Choice):
                raise SpaceError(f"space {name!r}: expected Choice objects, got {c!r}")
        names = [c.name for c in choices]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SpaceError(f"space {name!r}: duplicate choice names {duplicates}")
        self.name = str(name)
        self.choices = choices
        self._position = {c.name: j for j, c in enumerate(choices)}
        if cell is not None and not isinstance(cell, (Cell, LinkedCell)):
            raise SpaceError(f"space {name!r}: cell must be a Cell or a LinkedCell, got {cell!r}")
        if isinstance(cell, Cell):
            unknown = [e[0] for e in cell.edges if e[0] not in self._position]
            if unknown:
                raise SpaceError(f"space {name!r}: cell edges {unknown} are not choices of the space")
        if isinstance(cell, LinkedCell):
            unknown = [c for c in cell.choice_names if c not in self._position]
            if unknown:
                raise SpaceError(f"space {name!r}: linked cell choices {unknown} are not choices of the space")
            try:
                for value in choices[self._position[cell.links]].values:
                    cell.parse_wiring(value)
            except SpaceError as err:
                raise SpaceError(f"space {name!r}: choice {cell.links!r}: {err}") from None
        self.cell = cell

    def cell_features(self) -> CellFeatures | LinkedCellFeatures | None:
        """The structural features of :attr:`cell` over this space's positions, or ``None`` without a cell."""
        if self.cell is None:
            return None
        if isinstance(self.cell, LinkedCell):
            positions = [self._position[name] for name in self.cell.choice_names]
            return LinkedCellFeatures(self.cell, positions, [self.choices[j].values for j in positions])
        positions = [self._position[name] for name, _, _ in self.cell.edges]
        return CellFeatures(self.cell, positions, [self.choices[j].values for j in positions])

    # ------------------------------------------------------------------ basic facts
    def __len__(self) -> int:
        return len(self.choices)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SearchSpace) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"SearchSpace(name={self.name!r}, positions={len(self)}, size={self.size})"

    @property
    def n_positions(self) -> int:
        """``d``, the length of an architecture vector."""
        return len(self.choices)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.choices]

    @property
    def n_options(self) -> np.ndarray:
        """Number of options per position, ``(d,)`` int."""
        return np.array([c.n_options for c in self.choices], dtype=int)

    @property
    def groups(self) -> list[str]:
        """Operation type of each position, ``d`` strings."""
        return [c.group for c in self.choices]

    @property
    def group_names(self) -> list[str]:
        """Distinct operation types, in order of first appearance."""
        return list(dict.fromkeys(self.groups))

    @property
    def size(self) -> int:
        """Number of distinct architectures (an exact Python int; may be astronomically large)."""
        return math.prod(int(n) for n in self.n_options)

    def row_keys(self, X: np.ndarray) -> np.ndarray | None:
        """One exact ``int64`` per architecture of ``X (n, d)`` (valid indices): its number in the space's
        mixed-radix order, position 0 the most significant, so that keys order rows lexicographically and equal
        keys are equal rows.  ``None`` when the space has more architectures than an ``int64`` counts."""
        if self.size >= 2**63:
            return None
        strides = np.cumprod(np.concatenate([[1], self.n_options[::-1][:-1]]))[::-1].astype(np.int64)
        return np.asarray(X, dtype=np.int64).reshape(-1, self.n_positions) @ strides

    # ------------------------------------------------------------------ validation and conversion
    def validate(self, X: Any) -> np.ndarray:
        """Check an architecture ``(d,)`` or a batch ``(n, d)`` of choice indices; return it as an int array.

        Raises :class:`ArchitectureError` naming the first bad row, position and index.
        """
        arr = np.asarray(X)
        if arr.dtype.kind == "f":
            for bad, what in ((np.isnan(arr), "NaN"), (np.isinf(arr), "infinity")):
                if bad.any():
                    raise ArchitectureError(f"architecture indices: X contains {what} ({int(bad.sum())} entries)")
            if not np.all(arr == np.round(arr)):
                raise ArchitectureError("architecture indices must be whole numbers")
        elif arr.dtype.kind not in "iu":
            raise ArchitectureError(f"architecture indices must be integers, got dtype {arr.dtype}")
        arr = arr.astype(int)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.n_positions:
            raise ArchitectureError(
                f"expected architectures of length {self.n_positions} for space {self.name!r}, got shape {arr.shape}"
            )
        flat = arr.reshape(-1, self.n_positions)
        if flat.size and (flat.min(axis=0).min() >= 0 and np.all(flat.max(axis=0) < self.n_options)):
            return arr  # column extremes first: two reductions instead of two (n, d) boolean temporaries
        bad = (arr < 0) | (arr >= self.n_options)
        if bad.any():
            row, col = np.argwhere(np.atleast_2d(bad))[0]
            value = np.atleast_2d(arr)[row, col]
            choice = self.choices[col]
            raise ArchitectureError(
                f"architecture {row}: index {value} at position {choice.name!r} is outside 0..{choice.n_options - 1}"
            )
        return arr

    def to_dict_arch(self, x: Sequence[int]) -> dict[str, Any]:
        """``{choice name: value}`` for one architecture given as indices."""
        x = self.validate(x)
        if x.ndim != 1:
            raise ArchitectureError("to_dict_arch takes one architecture, not a batch")
        return {c.name: c.values[i] for c, i in zip(self.choices, x)}

    def from_dict_arch(self, arch: Mapping[str, Any]) -> np.ndarray:
        """Indices ``(d,)`` of an architecture given as ``{choice name: value}``; every choice must be present."""
        missing = [c.name for c in self.choices if c.name not in arch]
        if missing:
            raise ArchitectureError(f"architecture is missing choices {missing}")
        extra = sorted(set(arch) - set(self._position))
        if extra:
            raise ArchitectureError(f"architecture has unknown choices {extra}")
        return np.array([c.index_of(arch[c.name]) for c in self.choices], dtype=int)

    def to_string(self, x: Sequence[int]) -> str:
        """Canonical readable form, ``"name=value,name=value,..."`` in position order."""
        return format_arch(self.to_dict_arch(x))

    def from_string(self, text: str) -> np.ndarray:
        """Parse :meth:`to_string`'s form back into indices ``(d,)``."""
        arch: dict[str, str] = {}
        for part in str(text).split(","):
            if "=" not in part:
                raise ArchitectureError(f"cannot parse {part!r} in {text!r}: expected name=value")
            key, value = part.split("=", 1)
            key = key.strip()
            if key in arch:
                raise ArchitectureError(f"choice {key!r} appears twice in {text!r}")
            arch[key] = value.strip()
        return self.from_dict_arch(arch)

    # ------------------------------------------------------------------ sampling and neighbourhoods
    def sample(self, n: int, random_state: int | np.random.Generator | None = None) -> np.ndarray:
        """``n`` architectures drawn uniformly (with replacement), ``(n, d)``."""
        rng = np.random.default_rng(random_state)
        return rng.integers(0, self.n_options, size=(int(n), self.n_positions))

    def enumerate(self, limit: int = MAX_ENUMERATION) -> np.ndarray:
        """Every architecture, ``(size, d)``, in lexicographic index order.  Raises if the space exceeds ``limit``."""
        if self.size > limit:
            raise SpaceError(f"space {self.name!r} has {self.size} architectures, too many to enumerate "
                             f"(limit {limit})")
        grids = np.array(list(product(*[range(n) for n in self.n_options])), dtype=int)
        return grids.reshape(-1, self.n_positions)

    def neighbours(self, x: Sequence[int]) -> np.ndarray:
        """Every architecture that differs from ``x`` in exactly one position, ``(sum(n_options - 1), d)``."""
        x = self.validate(x)
        rows = []
        for j, n in enumerate(self.n_options):
            for i in range(n):
                if i != x[j]:
                    y = x.copy()
                    y[j] = i
                    rows.append(y)
        return np.array(rows, dtype=int).reshape(-1, self.n_positions)

    def mutate(self, x: Sequence[int], random_state: int | np.random.Generator | None = None) -> np.ndarray:
        """A random neighbour of ``x`` (one position changed to another value)."""
        rng = np.random.default_rng(random_state)
        x = self.validate(x).copy()
        mutable = np.flatnonzero(self.n_options > 1)
        if mutable.size == 0:
            return x
        j = rng.choice(mutable)
        x[j] = (x[j] + rng.integers(1, self.n_options[j])) % self.n_options[j]
        return x

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict:
        out = {"name": self.name, "choices": [c.to_dict() for c in self.choices]}
        if self.cell is not None:
            out["cell"] = self.cell.to_dict()
        return out

    @classmethod
    def from_dict(cls, spec: Any, source: str = "space definition") -> "SearchSpace":
        """Build from a mapping ``{name, choices: [{name, values, group, repeat?}, ...], cell?}``.

        ``repeat: n`` expands one entry into ``n`` positions named ``<name>_0 .. <name>_{n-1}``.  ``cell`` is
        ``{nodes, edges: {choice: [src, dst]}, none: [...], identity: [...]}`` (:meth:`gpnas.space.cell.Cell.from_dict`),
        or a linked cell ``{links: choice, nodes: [choice, ...], identity: [...]}``
        (:meth:`gpnas.space.linked_cell.LinkedCell.from_dict`).
        """
        if not isinstance(spec, Mapping):
            raise SpaceError(f"{source}: expected a mapping with 'choices', got {type(spec).__name__}")
        unknown = sorted(set(spec) - {"name", "choices", "cell"})
        if unknown:
            raise SpaceError(f"{source}: unknown top-level keys {unknown}; expected 'name', 'choices' and 'cell'")
        entries = spec.get("choices")
        if not isinstance(entries, list) or not entries:
            raise SpaceError(f"{source}: 'choices' must be a non-empty list")
        choices: list[Choice] = []
        for k, entry in enumerate(entries):
            if len(choices) > MAX_POSITIONS:
                break
            where = f"{source}: choice #{k}"
            if not isinstance(entry, Mapping):
                raise SpaceError(f"{where}: expected a mapping, got {entry!r}")
            unknown = sorted(set(entry) - {"name", "values", "group", "repeat"})
            if unknown:
                raise SpaceError(f"{where}: unknown keys {unknown}; expected name, values, group, repeat")
            for key in ("name", "values", "group"):
                if key not in entry:
                    raise SpaceError(f"{where}: missing '{key}'")
            repeat = entry.get("repeat", None)
            try:
                if repeat is None:
                    choices.append(Choice(str(entry["name"]), entry["values"], str(entry["group"])))
                else:
                    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
                        raise SpaceError(f"{where}: 'repeat' must be a positive integer, got {repeat!r}")
                    if len(choices) + repeat > MAX_POSITIONS:
                        raise SpaceError(f"{where}: 'repeat: {repeat}' makes more than {MAX_POSITIONS} positions")
                    for r in range(repeat):
                        choices.append(Choice(f"{entry['name']}_{r}", entry["values"], str(entry["group"])))
            except SpaceError as err:
                raise SpaceError(f"{source}: {err}") from None
        try:
            cell = None
            if "cell" in spec:
                # a linked cell names its wiring and lists its nodes; a cell counts its nodes
                linked = isinstance(spec["cell"], Mapping) and (
                    "links" in spec["cell"] or isinstance(spec["cell"].get("nodes"), list))
                cell = (LinkedCell if linked else Cell).from_dict(spec["cell"], source="cell")
            return cls(choices, name=str(spec.get("name", "space")), cell=cell)
        except SpaceError as err:
            raise SpaceError(f"{source}: {err}") from None

    @classmethod
    def load(cls, path: str | Path) -> "SearchSpace":
        """Read a space from a ``.yaml``/``.yml`` or ``.json`` file."""
        path = Path(path)
        if not path.is_file():
            raise SpaceError(f"space file {str(path)!r} does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise SpaceError(f"space file {str(path)!r} is not UTF-8 text: {err}") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                spec = yaml.load(text, Loader=_unique_key_loader())
            except yaml.YAMLError as err:
                raise SpaceError(f"space file {str(path)!r} is not valid YAML: {err}".splitlines()[0]) from None
        elif path.suffix.lower() == ".json":
            try:
                spec = json.loads(text, object_pairs_hook=_unique_keys)
            except json.JSONDecodeError as err:
                raise SpaceError(f"space file {str(path)!r} is not valid JSON: {err}") from None
        else:
            raise SpaceError(f"space file {str(path)!r}: expected a .yaml, .yml or .json suffix")
        return cls.from_dict(spec, source=f"space file {str(path)!r}")

    def save(self, path: str | Path) -> None:
        """Write the space as YAML or JSON, chosen by the suffix."""
        path = Path(path)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        elif path.suffix.lower() == ".json":
            path.write_text(json.dumps(self.to_dict(), indent=2))
        else:
            raise SpaceError(f"cannot save space to {str(path)!r}: expected a .yaml, .yml or .json suffix")


def format_arch(arch: Mapping[str, Any]) -> str:
    """``{name: value}`` as the canonical text ``"name=value,name=value,..."`` (:meth:`SearchSpace.from_string`)."""
    return ",".join(f"{k}={v}" for k, v in arch.items())


_BLOCK_NAME = re.compile(r"^(?P<block>.*?\d+)_(?P<attr>[A-Za-z][A-Za-z0-9]*)$")
_ON, _OFF = {"on", "true", "yes"}, {"off", "false", "no"}


def compact_arch(arch: Mapping[str, Any]) -> str:
    """A short form of ``{name: value}`` for terminals: per block ``k5e6+se``.

    Names of the form ``<block><number>_<attribute>`` (``b3_kernel``, ``block0_e``) are grouped by block; within a
    block a number is written as the attribute's first letter and the value (``k5``, ``e6``), an on/off value as
    ``+attribute`` when on (nothing when off), any other value as itself.  Blocks are separated by spaces.  Other names
    fall back to the values in order, separated by ``,``.  :func:`format_arch` is the full, parseable form.
    """
    blocks: dict[str, list[str]] = {}
    for name, value in arch.items():
        match = _BLOCK_NAME.match(name)
        if match is None:
            return ",".join(str(v) for v in arch.values())
        attr, text = match["attr"], str(value).strip().lower()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            part = f"{attr[0]}{value}"
        elif text in _ON:
            part = f"+{attr}"
        elif text in _OFF:
            part = ""
        else:
            part = str(value)
        blocks.setdefault(match["block"], []).append(part)
    return " ".join("".join(parts) or "-" for parts in blocks.values())


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    """A JSON object hook that refuses duplicate keys (the last one would silently win)."""
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise SpaceError(f"duplicate keys {duplicates} in a space file")
    return dict(pairs)


def _unique_key_loader():
    """A YAML SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader, node, deep=False):
        keys = [loader.construct_object(key, deep=deep) for key, _ in node.value]
        duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
        if duplicates:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}", node.start_mark)
        return loader.construct_mapping(node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return UniqueKeyLoader


def make_space(spec: Iterable[tuple[str, Sequence[Any], str]], name: str = "space") -> SearchSpace:
    """Shorthand: ``make_space([("k0", [3, 5, 7], "kernel"), ...])``."""
    return SearchSpace([Choice(n, tuple(v), g) for n, v, g in spec], name=name)
