"""Prefetching: items of an iterator produced on a background thread while the caller works.

``fit`` trains on a batch in the C++ core with the GIL released; meanwhile this thread
pulls the next batches from the user's generator or dataset and validates and casts them.
The thread lives for one pass (an epoch, or one evaluation) and never outlives it: the
caller stopping early (``break``, an exception in the training step, Ctrl-C) stops and
joins it, and an exception raised while producing (in the user's generator) is re-raised
in the caller, unchanged, after the items produced before it.

``ordered_map`` runs a function over indices with a pool of threads and yields the results
in index order (PyDataset's ``workers``).

Example:
    >>> list(prefetch(x * x for x in range(4)))
    [0, 1, 4, 9]
    >>> list(ordered_map(lambda i: -i, range(3), workers=2, window=4))
    [0, -1, -2]
"""

from __future__ import annotations

import collections
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["prefetch", "ordered_map", "THREAD_NAME"]

THREAD_NAME = "lamina-prefetch"
_ITEM, _END, _ERROR = 0, 1, 2
# How often a blocked producer or consumer looks at the stop flag (seconds).
_POLL = 0.05


def prefetch(items, depth=2):
    """Yields the items of ``items``, produced on a daemon thread up to ``depth`` ahead.

    Args:
        items: An iterable (iterated on the background thread only).
        depth: Items produced ahead at most. Defaults to `2`.
    """
    q = queue.Queue(maxsize=max(1, int(depth)))
    stop = threading.Event()

    def put(entry):
        while not stop.is_set():
            try:
                q.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put((_ITEM, item)):
                    return
            put((_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer unchanged
            put((_ERROR, exc))
        finally:
            close = getattr(items, "close", None)  # a generator's own finally runs here
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001 - the producer's error wins
                    pass

    thread = threading.Thread(target=produce, name=THREAD_NAME, daemon=True)
    thread.start()
    interrupted = False
    try:
        while True:
            kind, item = q.get()
            if kind == _ITEM:
                yield item
            elif kind == _END:
                return
            else:
                raise item
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        stop.set()
        # On Ctrl-C do not wait for a producer stuck in the user's code: it stops at its
        # next item (it is a daemon thread, so it never holds the interpreter open).
        thread.join(timeout=1.0 if interrupted else None)


def ordered_map(fn, indices, workers, window):
    """Yields ``fn(i)`` for each ``i`` of ``indices`` in order, ``workers`` threads computing.

    At most ``window`` calls run or wait ahead of the one being yielded. With one worker
    the calls run in the iterating thread.

    Args:
        fn: The function.
        indices: An iterable of arguments.
        workers: Threads.
        window: Calls in flight at most.
    """
    if workers <= 1:
        for i in indices:
            yield fn(i)
        return
    pending = collections.deque()
    it = iter(indices)
    with ThreadPoolExecutor(max_workers=workers,
                            thread_name_prefix=THREAD_NAME + "-worker") as pool:
        try:
            for i in it:
                pending.append(pool.submit(fn, i))
                if len(pending) >= max(window, workers):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()
