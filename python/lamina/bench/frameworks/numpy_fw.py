"""numpy by hand: the MLP a careful user writes with numpy alone.

Preallocated buffers per batch size, GEMMs with ``out=``, and the optimizers updated in place
(the faster of the two numpy variants in ANCHORS.md: a naive Adam with temporaries costs
twice the step). Dropout draws a float32 mask with ``rng.random``, as numpy users do.
"""

from __future__ import annotations

import numpy as np

from .base import Framework, Trainer


class _NumpyMLP(Trainer):
    def __init__(self, spec, x, y):
        if spec.batch_norm:
            raise NotImplementedError("the numpy MLP has no batch normalization")
        self.spec = spec
        self.x, self.y = x, y
        self.rng = np.random.default_rng(spec.seed)
        sizes = spec.sizes
        self.W, self.b = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):  # Glorot uniform, zero bias
            lim = np.sqrt(6.0 / (fan_in + fan_out))
            self.W.append(self.rng.uniform(-lim, lim, (fan_in, fan_out)).astype(np.float32))
            self.b.append(np.zeros(fan_out, np.float32))
        self.params = [p for pair in zip(self.W, self.b) for p in pair]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.scratch = [np.zeros_like(p) for p in self.params]
        if spec.optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]
        else:
            self.buf = [np.zeros_like(p) for p in self.params]
        self.t = 0
        self._bufs = {}

    def _buffers(self, m):
        bufs = self._bufs.get(m)
        if bufs is None:
            sizes = self.spec.sizes
            bufs = {"xb": np.empty((m, sizes[0]), np.float32),
                    "z": [np.empty((m, n), np.float32) for n in sizes[1:]],
                    "dz": [np.empty((m, n), np.float32) for n in sizes[1:]],
                    "mask": [np.empty((m, n), np.float32) for n in sizes[1:-1]]}
            self._bufs[m] = bufs
        return bufs

    def _forward(self, xb, bufs, train):
        h = xb
        p = self.spec.dropout
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = bufs["z"][i]
            np.matmul(h, W, out=z)
            z += b
            if i < last:
                np.maximum(z, 0.0, out=z)
                if train and p > 0.0:
                    mask = bufs["mask"][i]
                    np.greater_equal(self.rng.random(z.shape, dtype=np.float32), p, out=mask,
                                     casting="unsafe")
                    mask *= np.float32(1.0 / (1.0 - p))
                    z *= mask
            h = z
        return h

    def train_step(self, xb, yb):
        m = len(xb)
        bufs = self._buffers(m)
        logits = self._forward(xb, bufs, train=True)
        # softmax cross-entropy gradient, in place: (softmax - onehot) / m
        dz = bufs["dz"][-1]
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=dz)
        np.exp(dz, out=dz)
        dz /= dz.sum(axis=1, keepdims=True)
        dz[np.arange(m), yb] -= 1.0
        dz *= np.float32(1.0 / m)
        for i in range(len(self.W) - 1, -1, -1):
            h_prev = xb if i == 0 else bufs["z"][i - 1]
            np.matmul(h_prev.T, dz, out=self.grads[2 * i])
            np.sum(dz, axis=0, out=self.grads[2 * i + 1])
            if i > 0:
                dh = bufs["dz"][i - 1]
                np.matmul(dz, self.W[i].T, out=dh)
                if self.spec.dropout > 0.0:
                    dh *= bufs["mask"][i - 1]  # also zero where ReLU was 0 after dropout
                dh *= bufs["z"][i - 1] > 0  # ReLU backward (h_prev holds the activation)
                dz = dh
        if self.spec.l2:
            for i, W in enumerate(self.W):
                self.grads[2 * i] += np.float32(2.0 * self.spec.l2) * W
        self._update()

    def _update(self):
        spec = self.spec
        self.t += 1
        lr = np.float32(spec.learning_rate)
        if spec.optimizer == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-7
            lr_t = np.float32(spec.learning_rate * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t))
            eps_t = np.float32(eps * np.sqrt(1 - b2 ** self.t))
            for p, g, m, v, s in zip(self.params, self.grads, self.m, self.v, self.scratch):
                m *= np.float32(b1)
                np.multiply(g, np.float32(1 - b1), out=s)
                m += s
                v *= np.float32(b2)
                np.multiply(g, g, out=s)
                s *= np.float32(1 - b2)
                v += s
                np.sqrt(v, out=s)
                s += eps_t
                np.divide(m, s, out=s)
                s *= lr_t
                p -= s
        else:
            mom = np.float32(spec.momentum)
            for p, g, buf in zip(self.params, self.grads, self.buf):
                buf *= mom
                buf += g
                np.multiply(buf, lr, out=g)
                p -= g

    def train_epoch(self):
        n, bs = len(self.x), self.spec.batch_size
        perm = self.rng.permutation(n)
        for start in range(0, n, bs):
            idx = perm[start:start + bs]
            bufs = self._buffers(len(idx))
            xb = np.take(self.x, idx, axis=0, out=bufs["xb"])
            self.train_step(xb, self.y[idx])

    def predict(self, x):
        outs = []
        for start in range(0, len(x), 1024):
            xb = x[start:start + 1024]
            outs.append(self._forward(xb, self._buffers(len(xb)), train=False).copy())
        return np.concatenate(outs)


class NumpyFramework(Framework):
    name = "numpy"
    package = "numpy"

    def runtime_info(self):
        try:
            from threadpoolctl import threadpool_info

            blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                    for i in threadpool_info() if i.get("user_api") == "blas"]
            return {"numpy_blas": ", ".join(blas)}
        except ImportError:
            return {}

    def set_threads(self, n):
        try:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(n)  # keep the limit alive for the process
        except ImportError:
            pass  # OPENBLAS_NUM_THREADS, set by the runner before import, still applies

    def mlp_trainer(self, spec, x, y):
        return _NumpyMLP(spec, x, y)

    def matmul_case(self, a, b, trans_a, trans_b):
        A = a.T if trans_a else a
        B = b.T if trans_b else b
        out = np.empty((A.shape[0], B.shape[1]), np.float32)
        return (lambda: np.matmul(A, B, out=out)), (lambda: out)
