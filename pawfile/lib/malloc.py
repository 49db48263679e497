"""How the C allocator (glibc's malloc) hands memory back, set once per process.

Two glibc defaults keep a Python web process big after a burst of large requests:

* Blocks of 128 KB and more come from their own ``mmap`` and go back to the system when freed
  — but each time one is freed, glibc raises that threshold to the block's size (up to
  32 MB), so the next large blocks (a 15 MB upload read into memory, a decoded photo, a
  PDF) are carved from the heap instead, where freeing them returns nothing. Fixing the
  threshold (``M_MMAP_THRESHOLD``) turns that adjustment off: large blocks always come and go
  with ``mmap``.
* Every thread that allocates gets an arena of its own (up to 8 per core); memory freed in
  one arena is reused only by its threads. ``M_ARENA_MAX`` caps them.

``malloc_tune()`` sets both with ``mallopt`` (no effect and no error off glibc). Called at
the start of every Pawfile process (``cli.main`` and the web worker's loader).
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 512 * 1024
TRIM_THRESHOLD = 1024 * 1024
ARENA_MAX = 2


def malloc_tune() -> bool:
    """Apply the settings above; True when the C library took them."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    done &= mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    done &= mallopt(M_ARENA_MAX, ARENA_MAX)
    return bool(done)
