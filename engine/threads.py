"""torch thread-pool control for the many small ops of the rig (fitting, tracking, the teacher)."""
from __future__ import annotations

import contextlib
import functools
from typing import Callable, Iterator, TypeVar

import torch

F = TypeVar("F", bound=Callable)


@contextlib.contextmanager
def single_threaded() -> Iterator[None]:
    """torch's intra-op pool at one thread inside the block (restored after). The rig's per-call work is
    ~1 ms of small ops; with the other core busy, torch's two-thread pool turned that into ~50 ms
    (measured), while one thread is as fast on an idle machine. The pool is process-wide, so torch work
    in another thread meanwhile also runs single-threaded for that time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_single_threaded(fn: F) -> F:
    """Decorator form of single_threaded()."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded():
            return fn(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
