"""Callback: the base class whose hooks ``fit`` / ``evaluate`` / ``predict`` call."""

from __future__ import annotations

from .callback_list import default


class Callback:
    """Base class: override the hooks you need; ``self.model`` and ``self.params`` are set.

    ``params`` holds ``epochs``, ``steps`` (batches per epoch) and ``verbose``. Deriving
    from it is optional: ``fit`` takes any object with Keras's ``Callback`` methods
    (``keras.callbacks.Callback`` subclasses, plain objects) and calls only the hooks it
    has. The no-op hooks here are marked as defaults (Keras's ``_is_default``), so only the
    ones a subclass overrides are called.

    Example:
        >>> class Epochs(Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch, "loss" in logs)
        >>> Epochs().on_epoch_end(0, {"loss": 0.5})
        epoch 0 True
    """

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    @default
    def on_train_begin(self, logs=None):
        pass

    @default
    def on_train_end(self, logs=None):
        pass

    @default
    def on_epoch_begin(self, epoch, logs=None):
        pass

    @default
    def on_epoch_end(self, epoch, logs=None):
        pass

    @default
    def on_test_begin(self, logs=None):
        pass

    @default
    def on_test_end(self, logs=None):
        pass

    @default
    def on_predict_begin(self, logs=None):
        pass

    @default
    def on_predict_end(self, logs=None):
        pass

    @default
    def on_batch_begin(self, batch, logs=None):
        pass

    @default
    def on_batch_end(self, batch, logs=None):
        pass

    @default
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    @default
    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    @default
    def on_test_batch_begin(self, batch, logs=None):
        pass

    @default
    def on_test_batch_end(self, batch, logs=None):
        pass

    @default
    def on_predict_batch_begin(self, batch, logs=None):
        pass

    @default
    def on_predict_batch_end(self, batch, logs=None):
        pass

