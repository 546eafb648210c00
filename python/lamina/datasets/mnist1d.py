"""MNIST-1D, generated offline: ten 1-D digit templates, randomly padded, scaled,
translated, noised and sheared, then downsampled to 40 features.

The recipe is Greydanus's MNIST-1D (2020, https://github.com/greydanus/mnist1d), written
again here with numpy alone (no scipy, no download). The steps and their default sizes are
the paper's: a 12-point template per class; zero padding of 36..60 points; linear
interpolation to 72 points; amplitude scaled by 1 ± 0.2; a circular shift of 0..47 points;
the padding filled with correlated noise (Gaussian noise of scale 0.25 smoothed by a
Gaussian of sigma 2); i.i.d. noise of scale 0.02 everywhere; a linear shear of slope
±0.375; linear interpolation down to 40 points. The templates are smooth stand-ins of the
paper's digits (not its exact values), so the numbers are not those of the published
dataset, but the task is the same kind: the class is in a signal's shape, not its position.

Deterministic: the same arguments give the same arrays on every machine.

Example:
    >>> from lamina.datasets import make_mnist1d
    >>> (x, y), (xt, yt) = make_mnist1d(n_samples=100, seed=0)
    >>> x.shape, xt.shape, x.dtype, sorted(set(y.tolist()))[:3]
    ((80, 40), (20, 40), dtype('float32'), [0, 1, 2])
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_mnist1d", "mnist1d_templates"]

_TEMPLATE_LEN = 12


def mnist1d_templates() -> np.ndarray:
    """The ten 12-point templates (rows: classes 0..9), zero mean and unit overall std.

    Example:
        >>> mnist1d_templates().shape
        (10, 12)
    """
    t = np.asarray([
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],      # 0: one broad hump
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],    # 1: a drop, then a ramp
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],  # 2: up, then down
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],        # 3: two humps
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],      # 4: a ramp down, a jump back
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],          # 5: a trough, then a hump
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],      # 6: one broad trough
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],    # 7: a jump, a long ramp down
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],        # 8: two troughs
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],        # 9: a trough, a flat, a dip
    ])
    t = t - t.mean(axis=1, keepdims=True)
    return t / t.std()


def _interp(x, n):
    """Linear interpolation of x onto n evenly spaced points over the same span."""
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(x)), x)


def _smooth(x, sigma):
    """Gaussian smoothing (reflecting edges, kernel truncated at 4 sigma)."""
    r = int(4 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    padded = np.concatenate([x[r - 1::-1], x, x[:-r - 1:-1]])
    return np.convolve(padded, k, mode="valid")


def _sample(template, rng, padding, scale_coeff, max_translation, corr_noise_scale,
            iid_noise_scale, shear_scale, n_features):
    lo, hi = padding
    pad = lo + int(rng.random() * (hi - lo + 1))
    x = np.concatenate([template + 1e-8, np.zeros(pad)])
    x = _interp(x, _TEMPLATE_LEN + hi)                       # dilate
    x = x * (1.0 + scale_coeff * (rng.random() - 0.5))       # scale
    k = int(rng.integers(max_translation))
    x = np.roll(x, k)                                        # translate
    mask = x != 0.0
    x = np.where(mask, x, _smooth(corr_noise_scale * rng.standard_normal(x.shape), 2.0))
    x = x + iid_noise_scale * rng.standard_normal(x.shape)
    coeff = shear_scale * (rng.random() - 0.5)
    x = x - coeff * np.linspace(-0.5, 0.5, len(x))           # shear
    return _interp(x, n_features)                            # downsample


def make_mnist1d(n_samples=5000, test_split=0.2, seed=42, n_features=40, padding=(36, 60),
                 scale_coeff=0.4, max_translation=48, corr_noise_scale=0.25,
                 iid_noise_scale=2e-2, shear_scale=0.75):
    """Generates MNIST-1D: ``((x_train, y_train), (x_test, y_test))``, float32 and int64.

    Labels cycle 0..9 before a seeded shuffle, so the classes are balanced.

    Args:
        n_samples: Samples in all. Defaults to `5000`.
        test_split: Fraction held out as the test set (the last part). Defaults to `0.2`.
        seed: Seed of every random draw. Defaults to `42`.
        n_features: Points of each final signal. Defaults to `40`.
        padding: (min, max) zeros appended to a template before dilation. Defaults to
            `(36, 60)`.
        scale_coeff: Amplitude scaling range (1 ± scale_coeff / 2). Defaults to `0.4`.
        max_translation: Circular shifts drawn from 0..max_translation-1. Defaults to `48`.
        corr_noise_scale: Scale of the smoothed noise in the padding. Defaults to `0.25`.
        iid_noise_scale: Scale of the i.i.d. noise everywhere. Defaults to `2e-2`.
        shear_scale: Range of the linear shear's slope. Defaults to `0.75`.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``.

    Example:
        >>> (x, y), _ = make_mnist1d(n_samples=20, test_split=0.0, seed=1)
        >>> x.shape, y.dtype
        ((20, 40), dtype('int64'))
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    if not 0.0 <= test_split < 1.0:
        raise ValueError(f"test_split must be in [0, 1), got {test_split!r}")
    if not isinstance(n_features, (int, np.integer)) or n_features < 2:
        raise ValueError(f"n_features must be an integer >= 2, got {n_features!r}")
    rng = np.random.default_rng(seed)
    templates = mnist1d_templates()
    y = np.arange(n_samples, dtype=np.int64) % 10
    x = np.stack([_sample(templates[c], rng, padding, scale_coeff, max_translation,
                          corr_noise_scale, iid_noise_scale, shear_scale, n_features)
                  for c in y])
    order = rng.permutation(n_samples)
    x, y = np.ascontiguousarray(x[order], dtype=np.float32), y[order]
    n_test = int(round(n_samples * test_split))
    n_train = n_samples - n_test
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
