"""Writes python/lamina/examples/clusters.npz, the data set of the bundled examples.

A synthetic tabular task made to show what each hyperparameter does: 10 classes, each a
mixture of 3 Gaussian clusters in 10 informative dimensions (so no straight line separates
the classes: a network needs hidden units), 10 redundant features (linear mixtures of the
informative ones), 20 features of pure noise (what L1 learns to ignore), and 10 % of the
labels replaced by random ones (so a model that fits the training set perfectly has
memorized noise: overfitting shows in the validation loss). 6,000 samples: the examples
use 1,200 as the test split and split the rest between fitting and validation, so every
validation curve is measured on 960 samples or more.

Run it from the repository root (fixed seed; the same numpy writes the same file):

    python examples/make_data.py
"""

from pathlib import Path

import numpy as np

N, CLASSES, CLUSTERS = 6000, 10, 3
INFORMATIVE, REDUNDANT, NOISE = 10, 10, 20
SEPARATION = 1.3  # spread of the cluster centres, in units of the clusters' own std
LABEL_NOISE = 0.1
SEED = 18

OUT = Path(__file__).resolve().parents[1] / "python" / "lamina" / "examples" / "clusters.npz"


def make(n=N, seed=SEED):
    """Returns x float32 (n, 40) and y uint8 (n,)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, SEPARATION, size=(CLASSES, CLUSTERS, INFORMATIVE))
    y = rng.integers(0, CLASSES, n)
    cluster = rng.integers(0, CLUSTERS, n)
    informative = centres[y, cluster] + rng.normal(size=(n, INFORMATIVE))
    mix = rng.normal(size=(INFORMATIVE, REDUNDANT)) / np.sqrt(INFORMATIVE)
    redundant = informative @ mix
    noise = rng.normal(size=(n, NOISE))
    x = np.concatenate([informative, redundant, noise], axis=1)
    x = x[:, rng.permutation(x.shape[1])]  # the useful columns are not the first ones
    flip = rng.random(n) < LABEL_NOISE
    y[flip] = rng.integers(0, CLASSES, int(flip.sum()))
    return x.astype(np.float32), y.astype(np.uint8)


if __name__ == "__main__":
    x, y = make()
    np.savez_compressed(OUT, x=x, y=y)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB): x {x.shape}, y {y.shape}, "
          f"{np.bincount(y).tolist()} per class")
