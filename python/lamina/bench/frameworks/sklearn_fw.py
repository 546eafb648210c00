"""scikit-learn's MLPClassifier, one ``partial_fit`` per epoch.

Same layer sizes, ReLU, the same batch size and optimizer; ``alpha=0`` for Adam (no L2).
For the SGD workload, L2 is sklearn's ``alpha`` scaled so its gradient term
(``alpha * W / batch``) equals Keras's ``L2(l2)`` term ``2 * l2 * W``. scikit-learn has
no dropout.
"""

from __future__ import annotations

import numpy as np

from .base import Framework, Trainer


class _SklearnMLP(Trainer):
    def __init__(self, spec, x, y):
        if spec.dropout:
            raise NotImplementedError("scikit-learn's MLPClassifier has no dropout")
        if spec.batch_norm:
            raise NotImplementedError("scikit-learn's MLPClassifier has no batch normalization")
        from sklearn.neural_network import MLPClassifier

        common = dict(hidden_layer_sizes=spec.hidden, activation="relu",
                      batch_size=spec.batch_size, learning_rate_init=spec.learning_rate,
                      shuffle=True, random_state=spec.seed)
        if spec.optimizer == "adam":
            self.clf = MLPClassifier(solver="adam", alpha=0.0, **common)
        else:
            self.clf = MLPClassifier(solver="sgd", momentum=spec.momentum,
                                     nesterovs_momentum=False,
                                     alpha=2.0 * spec.l2 * spec.batch_size, **common)
        self.x, self.y = x, y
        self.classes = np.arange(spec.n_classes)

    def train_epoch(self):
        self.clf.partial_fit(self.x, self.y, classes=self.classes)

    def predict(self, x):
        return self.clf.predict(x)


class SklearnFramework(Framework):
    name = "sklearn"
    package = "sklearn"
    dist = "scikit-learn"

    def supports(self, workload):
        if workload.kind == "gemm":
            return "scikit-learn has no GEMM of its own (it calls numpy's)"
        return None

    def set_threads(self, n):
        try:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(n)
        except ImportError:
            pass

    def mlp_trainer(self, spec, x, y):
        return _SklearnMLP(spec, x, y)
