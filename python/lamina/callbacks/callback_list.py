"""CallbackList: dispatches each hook to the callbacks that have it, in order.

The protocol is Keras 3's: a callback is any object with some of ``keras.callbacks.Callback``'s
methods (``set_model``, ``set_params``, ``on_train_begin``, ``on_epoch_end(epoch, logs)``, …).
lamina's own callbacks, subclasses of ``keras.callbacks.Callback`` (Optuna's
``KerasPruningCallback``, tqdm's ``TqdmCallback``, Keras's ``EarlyStopping`` …) and plain
objects are treated alike: each hook is called on the callbacks that have it and do not
inherit it unchanged from a base class. A base class marks its no-op hooks the way Keras 3
does (``method._is_default = True``, ``keras.src.utils.python_utils.default``), so a
callback that defines only ``on_epoch_end`` costs nothing per batch. No callback is
special-cased by name, and whatever a hook raises (``optuna.TrialPruned``,
``KeyboardInterrupt``) propagates unchanged.
"""

from __future__ import annotations

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end")
# Keras's Callback.on_train_batch_begin/end call on_batch_begin/end: a callback that only
# overrides the older names still gets training batches.
_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
_PROTOCOL = HOOKS + ("set_model", "set_params", "on_batch_begin", "on_batch_end")


def default(method):
    """Marks a base-class hook as a no-op, as Keras 3's ``python_utils.default`` does."""
    method._is_default = True
    return method


def _is_default(method) -> bool:
    return bool(getattr(method, "_is_default", False))


def _active(cb, hook):
    """The bound method to call for ``hook`` on ``cb``, or None when it has no own one."""
    method = getattr(cb, hook, None)
    if callable(method) and not _is_default(method):
        return method
    alias = _ALIASES.get(hook)
    if alias is not None:
        old = getattr(cb, alias, None)
        if callable(old) and not _is_default(old):
            # call the Keras name when the object has it (it forwards to the old one)
            return method if callable(method) else old
    return None


def _sort_keys(logs: dict) -> None:
    """Puts the logs' keys in sorted order, in place (the dict stays the one the trainer
    holds): Keras 3 hands every hook its logs sorted by name (``pythonify_logs``), so
    ``history.history``, CSV columns and progress lines list ``accuracy, loss, val_accuracy,
    val_loss``, not the compile order."""
    keys = list(logs)
    if keys != sorted(keys):
        items = sorted(logs.items())
        logs.clear()
        logs.update(items)


class CallbackList:
    """Dispatches hooks to callbacks; records which kinds of batch hooks anyone defines.

    Args:
        callbacks: Callback objects (any object with Keras's ``Callback`` methods), called
            in this order.
        model: The model each callback gets through ``set_model``.
        params: ``{"epochs", "steps", "verbose"}`` (Keras's params), given through
            ``set_params``.

    Example:
        >>> from lamina.callbacks import History
        >>> class Plain:  # no base class: only the methods it has are called
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch, logs)
        >>> cbl = CallbackList([History(), Plain()], model=None, params={})
        >>> cbl.has_train_batch_hooks
        False
        >>> cbl.on_epoch_end(0, {"loss": 0.5})
        epoch 0 {'loss': 0.5}
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if isinstance(cb, (str, bytes, type)) or not any(
                    callable(getattr(cb, n, None)) for n in _PROTOCOL):
                raise TypeError("callbacks must be Callback objects (with Keras's Callback "
                                f"methods such as on_epoch_end), got {cb!r}")
        for cb in self.callbacks:
            set_model = getattr(cb, "set_model", None)
            if callable(set_model):
                set_model(model)
            set_params = getattr(cb, "set_params", None)
            if callable(set_params):
                set_params(params)
        self._hooks = {}
        for hook in HOOKS:
            methods = [m for m in (_active(cb, hook) for cb in self.callbacks) if m is not None]
            self._hooks[hook] = methods
        self.has_train_batch_hooks = bool(self._hooks["on_train_batch_begin"]
                                          or self._hooks["on_train_batch_end"])
        self.has_test_batch_hooks = bool(self._hooks["on_test_batch_begin"]
                                         or self._hooks["on_test_batch_end"])
        self.has_predict_batch_hooks = bool(self._hooks["on_predict_batch_begin"]
                                            or self._hooks["on_predict_batch_end"])

    def _call(self, hook, *args):
        methods = self._hooks[hook]
        if methods and args and isinstance(args[-1], dict):
            _sort_keys(args[-1])
        for method in methods:
            method(*args)

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
