"""The layer kinds of issue 14 part B in the step executor (lamina._core.Network): each kind in
a network against the independent float64 reference (tests/ref_layers.py through
tests/ref_network.py: forward, loss, backward, parameter updates), against finite differences,
at every ISA level, odd sizes, and 1 vs 2 threads bit-identical."""

import copy

import numpy as np
import pytest

from lamina import _core
import ref_layers
from ref_network import RefNetwork, dropout_masks, make_spec, param_arrays, param_entries

pytestmark = pytest.mark.kernel


def _param(name, value, ns, trainable=True, l1=0.0, l2=0.0):
    return dict(name=name, value=value, trainable=trainable, l1=l1, l2=l2,
                slots=[np.zeros_like(value) for _ in range(ns)] if trainable else [])


def _kind(kind, width, dtype, ns, rng, **kw):
    """One spec entry of `kind` for rows of `width`."""
    if kind == "normalization":
        k = kw.get("k", width)
        return dict(type="normalization", invert=kw.get("invert", False), epsilon=1e-7,
                    inner=kw.get("inner", 1),
                    state=[dict(name="mean", value=rng.normal(size=k).astype(dtype)),
                           dict(name="variance",
                                value=(rng.uniform(0.2, 3, k) * (0.0 if kw.get("zero_var")
                                                                 else 1.0)).astype(dtype))])
    if kind == "prelu":
        k = kw.get("k", width)
        return dict(type="prelu", inner=kw.get("inner", 1),
                    params=[_param("alpha", rng.uniform(-0.3, 0.6, k).astype(dtype), ns,
                                   trainable=kw.get("trainable", True), l2=kw.get("l2", 0.0))])
    if kind == "relu":
        return dict(type="relu", has_max=kw.get("has_max", True),
                    max_value=kw.get("max_value", 0.8), negative_slope=kw.get("slope", 0.1),
                    threshold=kw.get("threshold", 0.15))
    if kind == "gaussian_noise":
        return dict(type="gaussian_noise", stddev=kw.get("stddev", 0.3))
    if kind == "gaussian_dropout":
        return dict(type="gaussian_dropout", rate=kw.get("rate", 0.3))
    if kind in ("alpha_dropout", "shared_dropout"):
        return dict(type=kind, rate=kw.get("rate", 0.3), row_shared=kw.get("row", False),
                    col_shared=kw.get("col", False))
    if kind == "activity_regularization":
        return dict(type=kind, l1=kw.get("l1", 0.01), l2=kw.get("l2", 0.02))
    raise ValueError(kind)


def _spec(kind, dtype="float64", seed=5, rng_seed=0, width=7, **kw):
    """dense(width, tanh) -> kind -> dense(3): the kind between two trainable layers (so its
    dX is needed), with an odd width."""
    rng = np.random.default_rng(rng_seed)
    spec = make_spec(5, [("dense", width, "tanh"), ("dense", 3, "linear")], dtype=dtype,
                     rng=rng, seed=seed, optimizer=dict(name="adam"))
    ns = len(spec["layers"][0]["params"][0]["slots"])
    spec["layers"].insert(1, _kind(kind, width, dtype, ns, rng, **kw))
    return spec


CASES = [
    ("normalization", {}), ("normalization", dict(invert=True)),
    ("normalization", dict(k=1)), ("prelu", {}), ("prelu", dict(k=1, l2=0.01)),
    ("relu", {}), ("relu", dict(has_max=False, threshold=-0.2)),
    ("relu", dict(slope=0.0, threshold=0.0, max_value=0.5)),
    ("gaussian_noise", {}), ("gaussian_dropout", {}), ("alpha_dropout", {}),
    ("alpha_dropout", dict(col=True)), ("shared_dropout", dict(col=True)),
    ("shared_dropout", dict(row=True)), ("shared_dropout", dict(row=True, col=True)),
    ("activity_regularization", {}), ("activity_regularization", dict(l1=0.0)),
]
IDS = [f"{k}-{'-'.join(f'{a}={b}' for a, b in kw.items())}" for k, kw in CASES]


def _masks(spec, m, step):
    return {**dropout_masks(spec, m, step), **ref_layers.draws(spec, m, step)}


def _data(rng, m, spec):
    x = rng.standard_normal((m, spec["input_dim"]))
    y = rng.uniform(0.1, 0.9, (m, 3))
    sw = rng.uniform(0.5, 2.0, m)
    return x, y, sw


@pytest.mark.parametrize("kind,kw", CASES, ids=IDS)
def test_kind_gradients_match_reference_and_finite_differences(kind, kw, isa):
    spec = _spec(kind, **kw)
    x, y, sw = _data(np.random.default_rng(1), 11, spec)
    net = _core.Network(spec)
    loss, grads = net.gradients(x, y, sw, 3)
    ref = RefNetwork(spec)
    rloss, rgrads, _, _ = ref.loss_grads(x, y, sw, _masks(spec, 11, 3))
    assert loss == pytest.approx(rloss, rel=1e-12, abs=1e-14)
    for g, r in zip(grads, rgrads):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)
    # finite differences of the loss on every parameter (the noise is fixed by the step)
    h = 1e-6
    for e, g in zip(param_entries(spec), grads):
        if not e["trainable"]:
            continue
        flat = e["value"].reshape(-1)
        fd = np.empty(flat.size)
        for j in range(flat.size):
            keep = flat[j]
            flat[j] = keep + h
            lp = net.gradients(x, y, sw, 3)[0]
            flat[j] = keep - h
            lm = net.gradients(x, y, sw, 3)[0]
            flat[j] = keep
            fd[j] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(fd, g.reshape(-1), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("kind,kw", CASES + [("normalization", dict(zero_var=True))],
                         ids=IDS + ["normalization-zero-variance-epsilon"])
def test_kind_inference_matches_reference(kind, kw, isa):
    spec = _spec(kind, **kw)
    x, y, sw = _data(np.random.default_rng(2), 9, spec)
    out = np.empty((9, 3))
    _core.Network(spec).predict(x, out)
    ref_out, _ = RefNetwork(spec).forward(x, None)
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-14)
    res = _core.Network(spec).evaluate(x, y, sw)
    assert res[0] == pytest.approx(RefNetwork(spec).results(x, y, sw)[0], rel=1e-12)


def _whole_spec(dtype, seed=3):
    """normalization -> dense(relu) -> prelu -> dropout -> gaussian_noise -> dense(elu) with
    activity_regularization -> alpha_dropout -> relu(max, threshold) -> gaussian_dropout ->
    shared_dropout -> dense."""
    rng = np.random.default_rng(4)
    spec = make_spec(6, [("dense", 9, "relu"), ("dropout", 0.25), ("dense", 8, "elu", 1.0),
                         ("dense", 3, "linear")], dtype=dtype, rng=rng, seed=seed,
                     optimizer=dict(name="adam"))
    ns = len(spec["layers"][0]["params"][0]["slots"])
    L = spec["layers"]
    new = [_kind("normalization", 6, dtype, ns, rng), L[0],
           _kind("prelu", 9, dtype, ns, rng), L[1], _kind("gaussian_noise", 9, dtype, ns, rng),
           L[2], _kind("activity_regularization", 8, dtype, ns, rng),
           _kind("alpha_dropout", 8, dtype, ns, rng), _kind("relu", 8, dtype, ns, rng),
           _kind("gaussian_dropout", 8, dtype, ns, rng),
           _kind("shared_dropout", 8, dtype, ns, rng, col=True), L[3]]
    spec["layers"] = new
    return spec


def test_whole_network_train_steps_match_reference_step_by_step():
    spec = _whole_spec("float64")
    ref = RefNetwork(copy.deepcopy(spec))
    net = _core.Network(spec)
    rng = np.random.default_rng(5)
    for t in range(1, 6):
        x, y, sw = _data(rng, 13, spec)
        res = net.train_step(x, y, sw, 0.01, t)
        rres = ref.step(x, y, sw, 0.01, t, _masks(spec, 13, t))
        assert res[0] == pytest.approx(rres[0], rel=1e-10)
        for a, b in zip(param_arrays(spec), [e["value"] for e in ref.entries()]):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_whole_network_thread_count_does_not_change_weights(dtype, threads, isa):
    out = []
    for n in (1, 2):
        threads(n)
        spec = _whole_spec(dtype)
        net = _core.Network(spec)
        rng = np.random.default_rng(6)
        for t in range(1, 5):
            x, y, sw = _data(rng, 301, spec)
            net.train_step(x.astype(dtype), y.astype(dtype), sw.astype(dtype), 0.01, t)
        out.append([a.copy() for a in param_arrays(spec)])
    for a, b in zip(*out):
        assert np.array_equal(a, b)


def test_noise_is_reproducible_follows_the_step_and_vanishes_at_inference():
    spec = _spec("gaussian_noise", stddev=0.5)
    x, y, sw = _data(np.random.default_rng(7), 5, spec)
    net = _core.Network(spec)
    a, b, c = (net.gradients(x, y, sw, s)[0] for s in (1, 1, 2))
    assert a == b and a != c
    # the normals: mean 0, variance 1, and a different stream per layer index
    z = ref_layers.normals(200000, 1, 2, 3)
    assert abs(z.mean()) < 0.01 and abs(z.var() - 1) < 0.01
    assert not np.array_equal(z[:10], ref_layers.normals(10, 1, 2, 4))


def test_frozen_prelu_gets_no_update_and_zero_gradient():
    spec = _spec("prelu", trainable=False)
    alpha = spec["layers"][1]["params"][0]["value"].copy()
    x, y, sw = _data(np.random.default_rng(8), 7, spec)
    net = _core.Network(spec)
    _, grads = net.gradients(x, y, sw, 1)
    assert not grads[2].any()
    net.train_step(x, y, sw, 0.1, 1)
    assert np.array_equal(spec["layers"][1]["params"][0]["value"], alpha)


@pytest.mark.parametrize("mutate,text", [
    (lambda L: L.update(inner=2), "do not tile"),
    (lambda L: L["state"].pop(), "takes the state"),
    (lambda L: L.update(epsilon=0.0), "epsilon"),
])
def test_bad_normalization_specs_raise(mutate, text):
    spec = _spec("normalization")
    mutate(spec["layers"][1])
    with pytest.raises(ValueError, match=text):
        _core.Network(spec)


def test_bad_prelu_and_relu_specs_raise():
    spec = _spec("prelu", k=3)
    with pytest.raises(ValueError, match="do not tile"):
        _core.Network(spec)
    spec = _spec("relu")
    spec["layers"][1]["negative_slope"] = -1.0
    with pytest.raises(ValueError, match="negative_slope"):
        _core.Network(spec)
