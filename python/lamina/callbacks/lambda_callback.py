"""LambdaCallback: a callback from plain functions, one per hook."""

from __future__ import annotations

from .callback import Callback


class LambdaCallback(Callback):
    """A callback from plain functions, one per hook you pass.

    Args:
        on_epoch_begin: ``f(epoch, logs)``. Defaults to `None`.
        on_epoch_end: ``f(epoch, logs)``. Defaults to `None`.
        on_train_begin: ``f(logs)``. Defaults to `None`.
        on_train_end: ``f(logs)``. Defaults to `None`.
        on_train_batch_begin: ``f(batch, logs)``. Defaults to `None`.
        on_train_batch_end: ``f(batch, logs)``. Defaults to `None`.

    Example:
        >>> seen = []
        >>> cb = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> cb.on_epoch_end(0, {}); seen
        [0]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                 "on_train_begin": on_train_begin, "on_train_end": on_train_end,
                 "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        hooks.update(kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not hasattr(Callback, name):
                raise TypeError(f"LambdaCallback got an unknown hook {name!r}")
            if not callable(fn):
                raise TypeError(f"LambdaCallback {name} must be callable, got {fn!r}")
            setattr(self, name, fn)  # an instance attribute: CallbackList calls it
