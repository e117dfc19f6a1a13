"""Freed memory back to the operating system between the steps of a long run.

A run of the 3D model frees hundreds of MB of small arrays between its steps (the LoD2
tiles' parse results, an encoder's buffers); glibc keeps such memory in the heap, so the
process's resident size would carry every step's high-water mark into the next. ``trim``
asks glibc to return the free pages (``malloc_trim(0)``); on another C library it does
nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _malloc_trim() -> ctypes._NamedFuncPointer | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def trim() -> None:
    """Give the heap's free pages back (glibc only). No garbage collection: the bodies'
    arrays are freed by reference counting, and a full collection over a city's objects
    costs about a second each time."""
    fn = _malloc_trim()
    if fn is not None:
        fn(0)
