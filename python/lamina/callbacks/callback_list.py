"""CallbackList: dispatches each hook to a list of callbacks, in order."""

from __future__ import annotations

from .callback import Callback

_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                "on_batch_end")
_TEST_BATCH_HOOKS = ("on_test_batch_begin", "on_test_batch_end")
_PREDICT_BATCH_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")


def _overrides(cb, names) -> bool:
    return any(getattr(type(cb), n, None) is not getattr(Callback, n) for n in names)


class CallbackList:
    """Dispatches hooks to callbacks; records which kinds of batch hooks anyone defines.

    Args:
        callbacks: ``Callback`` instances, called in this order.
        model: The model each callback gets as ``self.model``.
        params: ``{"epochs", "steps", "verbose"}``, each callback's ``self.params``.

    Example:
        >>> from lamina.callbacks import History
        >>> cbl = CallbackList([History()], model=None, params={})
        >>> cbl.has_train_batch_hooks
        False
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be lamina.callbacks.Callback instances, got "
                                f"{cb!r}")
            cb.set_model(model)
            cb.set_params(params)
        self.has_train_batch_hooks = any(_overrides(cb, _BATCH_HOOKS) for cb in self.callbacks)
        self.has_test_batch_hooks = any(_overrides(cb, _TEST_BATCH_HOOKS)
                                        for cb in self.callbacks)
        self.has_predict_batch_hooks = any(_overrides(cb, _PREDICT_BATCH_HOOKS)
                                           for cb in self.callbacks)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._call("on_train_begin", logs)
    def on_train_end(self, logs=None): self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._call("on_epoch_end", epoch, logs)
    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)
    def on_test_begin(self, logs=None): self._call("on_test_begin", logs)
    def on_test_end(self, logs=None): self._call("on_test_end", logs)
    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._call("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._call("on_predict_end", logs)
    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)
