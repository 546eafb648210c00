"""Callbacks: code that runs at Keras's hooks during ``fit`` / ``evaluate`` / ``predict``.

The hooks and their arguments are Keras 3's: ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
``on_train_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``
(and the ``test`` / ``predict`` variants). Any object with some of these methods is a
callback - lamina's, Keras's own (``keras.callbacks.EarlyStopping`` …), Optuna's
``KerasPruningCallback``, tqdm's ``TqdmCallback`` - and gets only the hooks it has (see
``callback_list``). A callback that defines no batch hook costs nothing per batch: ``fit``
only dispatches batch hooks when some callback overrides one.

Example:
    >>> import numpy as np
    >>> import lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)], seed=0)
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stop = lamina.callbacks.EarlyStopping(monitor="loss", patience=0)
    >>> h = model.fit(np.ones((8, 2)), np.ones(8), epochs=3, callbacks=[stop], verbose=0)
    >>> len(h.history["loss"]) <= 3
    True
"""

from __future__ import annotations

from .callback import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .model_checkpoint import ModelCheckpoint
from .progbar_logger import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "History", "EarlyStopping", "ModelCheckpoint",
           "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN",
           "LambdaCallback", "ProgbarLogger"]
__all__ += ["TensorBoard"]
