"""How a per-sample statistic or parameter (Normalization's mean, PReLU's alpha) broadcasts over
a flattened sample: the core maps element ``j`` of a row to entry ``(j // inner) % k``, which
holds when the axes it varies along are contiguous in the sample shape."""

from __future__ import annotations

import math


def broadcast_inner(sample_shape, kept_axes, what):
    """``inner`` (the size of the sample axes after the last kept one) for statistics kept
    along ``kept_axes`` (0-based sample axes) of ``sample_shape``; raises naming ``what``
    when the kept axes of size > 1 are not contiguous (the core cannot broadcast that)."""
    varying = sorted(a for a in kept_axes if sample_shape[a] > 1)
    if not varying:
        return 1
    if varying != list(range(varying[0], varying[-1] + 1)):
        raise ValueError(f"{what}: the axes {tuple(a + 1 for a in varying)} of inputs of shape "
                         f"{(None, *sample_shape)} are not contiguous; lamina broadcasts "
                         "along contiguous axes only")
    return int(math.prod(sample_shape[varying[-1] + 1:]))
