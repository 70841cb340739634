"""Bytes an object keeps in memory, each buffer once: what the places index and the street
graphs are compared by (issue 15 point 7).

Followed from the object: instance attributes, dict/list/tuple/set items, memoryviews'
buffers, arrays (the header of every array object; the data of every underlying buffer
once, so views, memory-mapped arrays and the arrays they were made from count once),
SciPy sparse matrices (their arrays) and KD-trees (their arrays and nodes, which live in
C++ and are invisible to ``sys.getsizeof`` and ``tracemalloc``). Classes, modules and
functions are shared code and not counted.
"""

from __future__ import annotations

import mmap
import sys
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType

import numpy as np
from scipy.spatial import cKDTree

#: scipy's ``ckdtreenode``: nine 8-byte fields per node.
KDTREE_NODE_BYTES = 72
_CODE = (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)


def _buffer(arr: np.ndarray) -> tuple[object, int]:
    """The object owning an array's memory and its byte count (a whole memory map, or
    bytes object, however little of it the array views)."""
    root = arr
    while isinstance(root.base, np.ndarray):
        root = root.base
    owner = root.base
    if owner is None:
        return root, root.nbytes
    if isinstance(owner, memoryview):
        owner = owner.obj
    if isinstance(owner, mmap.mmap | bytes | bytearray):
        return owner, len(owner)
    return owner, root.nbytes


def _contents(o: object) -> tuple[int, list[object]]:
    """Bytes ``o`` holds beyond ``sys.getsizeof`` outside Python objects (KD-tree nodes),
    and the objects it refers to."""
    if isinstance(o, memoryview):
        return 0, [o.obj]
    if isinstance(o, cKDTree):
        return o.size * KDTREE_NODE_BYTES, [o.data, o.indices, o.maxes, o.mins]
    if isinstance(o, dict):
        return 0, [*o.keys(), *o.values()]
    if isinstance(o, list | tuple | set | frozenset):
        return 0, list(o)
    refs: list[object] = [vars(o)] if hasattr(o, "__dict__") else []
    for cls in type(o).__mro__:
        refs += [getattr(o, name) for name in getattr(cls, "__slots__", ())
                 if hasattr(o, name)]
    return 0, refs


def footprint(obj: object) -> int:
    """Bytes ``obj`` and what it refers to hold (module doc)."""
    seen: set[int] = set()
    buffers: set[int] = set()
    total = 0
    todo = [obj]
    while todo:
        o = todo.pop()
        if id(o) in seen or isinstance(o, _CODE):
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            total += sys.getsizeof(o) - (o.nbytes if o.flags.owndata else 0)
            owner, size = _buffer(o)
            if id(owner) not in buffers:
                buffers.add(id(owner))
                total += size
            if o.base is not None:  # the views and memoryviews it was made from
                todo.append(o.base)
            if hasattr(o, "__dict__"):  # a subclass's attributes (np.memmap: file name)
                todo.append(vars(o))
        elif isinstance(o, bytes | bytearray | mmap.mmap):
            if id(o) not in buffers:
                buffers.add(id(o))
                total += len(o) if isinstance(o, mmap.mmap) else sys.getsizeof(o)
        else:
            extra, refs = _contents(o)
            total += sys.getsizeof(o) + extra
            todo += refs
    return total
