"""lamina.ops (keras.ops names): values against numpy / closed forms, tape gradients against
central finite differences (float64), and ops without gradient named in the error."""

import math

import numpy as np
import pytest

from lamina import ops
from lamina.ops.tape import NotDifferentiableError, Tensor, gradient

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(3, 4))
POS = RNG.uniform(0.5, 2.0, size=(3, 4))
LABELS = np.array([0, 3, 1])
ONEHOT = np.eye(4)[LABELS]
PROBS = np.exp(A) / np.exp(A).sum(axis=1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def check(fn, *inputs, ref=None, grad=True, tol=1e-6):
    """fn on arrays equals ref (or itself run twice); on Tensors its tape gradient of
    sum(fn(x) * w) equals central differences for every array input."""
    out = fn(*inputs)
    assert not isinstance(out, Tensor)
    if ref is not None:
        np.testing.assert_allclose(np.asarray(out, dtype=float), ref, rtol=1e-12, atol=1e-12)
    if not grad:
        return
    w = np.random.default_rng(1).normal(size=np.shape(out))
    for k, x0 in enumerate(inputs):
        if not isinstance(x0, np.ndarray) or x0.dtype.kind != "f":
            continue

        def f(x, k=k):
            args = list(inputs)
            args[k] = x
            return fn(*args)
        t = Tensor(x0.copy())
        loss = ops.sum(ops.multiply(f(t), w))
        g = gradient(loss, t)
        fd = np.zeros_like(x0)
        h = 1e-6
        for i in np.ndindex(x0.shape):
            xp, xm = x0.copy(), x0.copy()
            xp[i] += h
            xm[i] -= h
            fd[i] = (np.sum(np.asarray(f(xp)) * w) - np.sum(np.asarray(f(xm)) * w)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=tol, atol=tol, err_msg=f"input {k}")


UNARY = [
    ("negative", A, -A), ("abs", A, np.abs(A)), ("absolute", A, np.abs(A)),
    ("square", A, A * A), ("sqrt", POS, np.sqrt(POS)), ("exp", A, np.exp(A)),
    ("expm1", A, np.expm1(A)), ("log", POS, np.log(POS)), ("log1p", POS, np.log1p(POS)),
    ("log2", POS, np.log(POS) / math.log(2)), ("log10", POS, np.log(POS) / math.log(10)),
    ("reciprocal", POS, 1 / POS), ("sin", A, np.sin(A)), ("cos", A, np.cos(A)),
    ("tan", A / 3, np.tan(A / 3)), ("arctan", A, np.arctan(A)), ("sinh", A, np.sinh(A)),
    ("cosh", A, np.cosh(A)), ("tanh", A, np.tanh(A)), ("sigmoid", A, _sigmoid(A)),
    ("relu", A, np.where(A > 0, A, 0)), ("relu6", 4 * A, np.clip(4 * A, 0, 6)),
    ("softplus", A, np.log(1 + np.exp(A))), ("softsign", A, A / (1 + np.abs(A))),
    ("silu", A, A * _sigmoid(A)), ("swish", A, A * _sigmoid(A)),
    ("log_sigmoid", A, np.log(_sigmoid(A))), ("hard_sigmoid", A, np.clip(A / 6 + 0.5, 0, 1)),
    ("selu", A, 1.0507009873554805 * np.where(A > 0, A, 1.6732632423543772 * (np.exp(A) - 1))),
    ("elu", A, np.where(A > 0, A, np.exp(A) - 1)),
    ("leaky_relu", A, np.where(A > 0, A, 0.2 * A)),
    ("gelu", A, 0.5 * A * (1 + np.tanh(math.sqrt(2 / math.pi) * (A + 0.044715 * A ** 3)))),
    ("softmax", A, np.exp(A) / np.exp(A).sum(-1, keepdims=True)),
    ("log_softmax", A, A - np.log(np.exp(A).sum(-1, keepdims=True))),
]


@pytest.mark.parametrize("name,x,ref", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, x, ref):
    check(getattr(ops, name), x, ref=ref)


def test_gelu_exact():
    ref = A * 0.5 * (1 + np.vectorize(math.erf)(A / math.sqrt(2)))
    check(lambda x: ops.gelu(x, approximate=False), A, ref=ref)


BINARY = [
    ("add", A + B), ("subtract", A - B), ("multiply", A * B), ("divide", A / B),
    ("true_divide", A / B), ("maximum", np.maximum(A, B)), ("minimum", np.minimum(A, B)),
]


@pytest.mark.parametrize("name,ref", BINARY, ids=[b[0] for b in BINARY])
def test_binary_and_broadcasting(name, ref):
    fn = getattr(ops, name)
    check(fn, A, B, ref=ref)
    check(fn, A, B[:1], ref=getattr(np, name)(A, B[:1]))  # (3, 4) with (1, 4)
    check(fn, A[:, :1], B)  # (3, 1) with (3, 4)


def test_power():
    check(ops.power, POS, B, ref=POS ** B)
    check(lambda x: ops.power(x, 3.0), A, ref=A ** 3)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "amax", "amin", "prod", "var",
                                  "std", "logsumexp"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (-1, False), (0, True),
                                           ((0, 1), False)])
def test_reductions(name, axis, keepdims):
    fn = getattr(ops, name)
    ref_fn = {"amax": np.max, "amin": np.min,
              "logsumexp": lambda x, axis, keepdims: np.log(np.sum(
                  np.exp(x), axis=axis, keepdims=keepdims))}.get(name, getattr(np, name, None))
    check(lambda x: fn(x, axis=axis, keepdims=keepdims), A,
          ref=ref_fn(A, axis=axis, keepdims=keepdims))


OTHERS = [
    ("clip", lambda x: ops.clip(x, -0.5, 0.5), np.clip(A, -0.5, 0.5)),
    ("where", lambda x: ops.where(A > 0, x, 2 * x), np.where(A > 0, A, 2 * A)),
    ("cast", lambda x: ops.cast(x, "float64"), A),
    ("reshape", lambda x: ops.reshape(x, (4, 3)), A.reshape(4, 3)),
    ("expand_dims", lambda x: ops.expand_dims(x, 1), A[:, None]),
    ("squeeze", lambda x: ops.squeeze(ops.expand_dims(x, 0)), A),
    ("transpose", lambda x: ops.transpose(x), A.T),
    ("broadcast_to", lambda x: ops.broadcast_to(x[0], (2, 4)), np.broadcast_to(A[0], (2, 4))),
    ("concatenate", lambda x: ops.concatenate([x, 2 * x], axis=1), np.concatenate(
        [A, 2 * A], axis=1)),
    ("stack", lambda x: ops.stack([x, x * x], axis=1), np.stack([A, A * A], axis=1)),
    ("tile", lambda x: ops.tile(x, (2, 1)), np.tile(A, (2, 1))),
    ("take", lambda x: ops.take(x, np.array([2, 0, 2]), axis=1), A[:, [2, 0, 2]]),
    ("take_flat", lambda x: ops.take(x, np.array([5, 1, 5])), A.ravel()[[5, 1, 5]]),
    ("take_along_axis", lambda x: ops.take_along_axis(x, LABELS[:, None], axis=1),
     A[np.arange(3), LABELS][:, None]),
    ("getitem", lambda x: x[1:, ::2] * x[0, 1], A[1:, ::2] * A[0, 1]),
    ("matmul", lambda x: ops.matmul(x, Tensor(B.T)) if isinstance(x, Tensor)
     else np.matmul(x, B.T), A @ B.T),
    ("matmul_operator", lambda x: x @ B.T, A @ B.T),
    ("dot", lambda x: ops.dot(x, B[0]), A @ B[0]),
    ("norm", lambda x: ops.norm(x, axis=-1), np.linalg.norm(A, axis=-1)),
    ("cumsum", lambda x: ops.cumsum(x, axis=1), np.cumsum(A, axis=1)),
    ("cumsum_flat", lambda x: ops.cumsum(x), np.cumsum(A)),
    ("convert_to_tensor", lambda x: ops.convert_to_tensor(x) * 2, 2 * A),
    ("operators", lambda x: (2 - x) / 3 + x ** 2 - (-x) * 1.5 + abs(x), (2 - A) / 3 + A ** 2
     + A * 1.5 + np.abs(A)),
    ("numpy_ufuncs", lambda x: np.exp(x) + np.mean(np.square(x), axis=-1, keepdims=True),
     np.exp(A) + np.mean(A * A, axis=-1, keepdims=True)),
    ("sort", lambda x: ops.sort(x, axis=0), np.sort(A, axis=0)),
    ("top_k", lambda x: ops.top_k(x, 2)[0], -np.sort(-A, axis=-1)[:, :2]),
    ("erf", lambda x: ops.erf(x), np.vectorize(math.erf)(A)),
    ("tensor_methods", lambda x: x.sum(axis=0) + x.mean() + x.T.reshape(12).max(),
     A.sum(0) + A.mean() + A.max()),
]


@pytest.mark.parametrize("name,fn,ref", OTHERS, ids=[o[0] for o in OTHERS])
def test_other_ops(name, fn, ref):
    check(fn, A, ref=ref)


def test_crossentropies():
    bce_ref = -(ONEHOT * np.log(_sigmoid(A)) + (1 - ONEHOT) * np.log(1 - _sigmoid(A)))
    check(lambda x: ops.binary_crossentropy(ONEHOT, x, from_logits=True), A, ref=bce_ref)
    check(lambda x: ops.binary_crossentropy(ONEHOT, x), _sigmoid(A), ref=bce_ref)
    cce_ref = -np.log(PROBS[np.arange(3), LABELS])
    check(lambda x: ops.categorical_crossentropy(ONEHOT, x, from_logits=True), A, ref=cce_ref)
    check(lambda x: ops.categorical_crossentropy(ONEHOT, x), PROBS, ref=cce_ref)
    check(lambda x: ops.sparse_categorical_crossentropy(LABELS, x, from_logits=True), A,
          ref=cce_ref)
    np.testing.assert_array_equal(ops.one_hot(LABELS, 4), ONEHOT.astype(np.float32))


def test_plain_results_and_helpers():
    assert ops.shape(A) == (3, 4) and ops.size(A) == 12 and ops.ndim(A) == 2
    np.testing.assert_array_equal(ops.argmax(A, axis=-1), np.argmax(A, axis=-1))
    np.testing.assert_array_equal(ops.argmin(A, axis=0), np.argmin(A, axis=0))
    np.testing.assert_array_equal(ops.equal(A, A), np.ones((3, 4), bool))
    np.testing.assert_array_equal(ops.zeros_like(A), np.zeros((3, 4)))
    np.testing.assert_array_equal(ops.ones_like(A, dtype="int32"), np.ones((3, 4), "int32"))
    assert isinstance(ops.convert_to_numpy(Tensor(A)), np.ndarray)
    assert ops.is_tensor(A) and ops.is_tensor(Tensor(A)) and not ops.is_tensor(1.0)
    assert ops.stop_gradient(Tensor(A)) is A
    np.testing.assert_array_equal(ops.argsort(A), np.argsort(A, axis=-1))
    np.testing.assert_array_equal(ops.in_top_k(LABELS, A, 2), [
        LABELS[i] in np.argsort(-A[i])[:2] for i in range(3)])
    np.testing.assert_array_equal(ops.isclose(A, A + 1e-12), np.ones((3, 4), bool))


def test_matmul_keeps_the_kernel_on_arrays():
    a, b = A.astype(np.float32), B.T.astype(np.float32).copy()
    np.testing.assert_allclose(ops.matmul(a, b), a @ b, rtol=1e-5)
    out = ops.matmul(a, a, trans_b=True, bias=np.ones(3, np.float32), activation="relu")
    np.testing.assert_allclose(out, np.maximum(a @ a.T + 1, 0), rtol=1e-5)
    with pytest.raises(ValueError, match="int64"):  # the kernel's checks, as before
        ops.matmul(np.ones((2, 2), np.int64), np.ones((2, 2), np.int64))
    with pytest.raises(ValueError, match="trans_b"):
        ops.matmul(Tensor(A), B, trans_b=True)


@pytest.mark.parametrize("name,fn", [
    ("argmax", lambda p: ops.cast(ops.argmax(p, axis=-1), "float64")),
    ("equal", lambda p: ops.cast(ops.equal(p, 0.5), "float64")),
    ("round", lambda p: ops.round(p)),
    ("sign", lambda p: ops.sign(p)),
    ("cast", lambda p: ops.cast(p, "int32") * 1.0),
    ("one_hot", lambda p: ops.one_hot(ops.argmax(p, axis=-1), 4) * 1.0),
    ("greater", lambda p: ops.where(p > 0.5, 1.0, 0.0) + ops.cast(p > 0.5, "float64")),
])
def test_no_gradient_is_named(name, fn):
    t = Tensor(PROBS.copy())
    loss = ops.sum(fn(t))
    with pytest.raises(NotDifferentiableError, match=rf"lamina\.ops\.{name}\b"):
        gradient(loss, t)


def test_leaving_the_tape_is_reported():
    t = Tensor(PROBS.copy())
    with pytest.raises(NotDifferentiableError, match="does not depend on y_pred"):
        gradient(np.sum(np.asarray(t)), t)
    with pytest.raises(NotDifferentiableError, match="does not depend on y_pred"):
        gradient(ops.sum(ops.stop_gradient(t)) + ops.sum(Tensor(A)), t)
    with pytest.raises(NotDifferentiableError, match="numpy.fft"):
        np.fft.fft(t)


def test_where_gradient_skips_the_condition():
    t = Tensor(PROBS.copy())
    k = int(np.argmax(PROBS[0]))
    g = gradient(ops.sum(ops.where(ops.argmax(t, axis=-1)[:, None] == k, t, 0.0)), t)
    expected = np.broadcast_to(np.where((np.argmax(PROBS, -1) == k)[:, None], 1.0, 0.0), (3, 4))
    np.testing.assert_array_equal(g, expected)
    assert g[0].sum() == 4.0
