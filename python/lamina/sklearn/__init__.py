"""scikit-learn estimators backed by lamina: ``LaminaClassifier`` and ``LaminaRegressor``.

They are ordinary scikit-learn estimators (constructor arguments are the hyperparameters,
``fit`` / ``predict`` / ``score``, clone-able, usable in ``Pipeline``, ``GridSearchCV``,
``cross_val_score``) whose network is a :class:`lamina.Sequential` trained by lamina's core.
They add what scikit-learn's own MLP lacks: dropout, L1 and L2 on the kernels, every lamina
optimizer (SGD, RMSprop, Adam, AdamW, Adagrad, Adamax, Nadam), the per-epoch training and
validation loss curves, and the lamina model itself (``model_``) for saving or inspection.

Pickling goes through lamina's own safe ``.lamina`` format: the fitted network is stored as
the bytes of that file (a zip of JSON + npz) and never as pickled core objects.

Requires the ``sklearn`` extra: ``pip install 'lamina[sklearn]'``.

Example:
    >>> from lamina.sklearn import LaminaClassifier
    >>> from lamina.datasets import load_digits
    >>> (x, y), _ = load_digits()
    >>> clf = LaminaClassifier(hidden_layer_sizes=(32,), epochs=5, random_state=0).fit(x, y)
    >>> clf.predict(x[:3]).shape
    (3,)
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "lamina.sklearn needs scikit-learn: `pip install 'lamina[sklearn]'` "
        f"(original error: {exc})"
    ) from exc

from ._classifier import LaminaClassifier
from ._regressor import LaminaRegressor

__all__ = ["LaminaClassifier", "LaminaRegressor"]

# The public path in reprs and pickles (``joblib.dump`` of a fitted estimator), so that
# saved estimators do not depend on the private module layout.
for _cls in (LaminaClassifier, LaminaRegressor):
    _cls.__module__ = __name__
del _cls
