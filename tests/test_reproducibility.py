"""Same seed and data give bit-identical weights: across runs, processes and thread counts."""

import numpy as np

import lamina
from conftest import run_python
from test_fit import make_data, make_model, same_weights


def train(seed, threads=None, set_threads=None):
    if set_threads is not None:
        set_threads(threads)
    x, y = make_data(n=97, d=13, k=4)
    model = make_model(d=13, k=4, seed=seed, dropout=0.3, optimizer="adam")
    model.fit(x, y, epochs=3, batch_size=7, validation_split=0.1, verbose=0)
    return model


def test_two_runs_are_bit_identical():
    assert same_weights(train(5), train(5))
    assert not same_weights(train(5), train(6))


def test_one_and_two_threads_are_bit_identical(threads):
    a = train(7, 1, threads)
    b = train(7, 2, threads)
    assert same_weights(a, b)


def test_set_random_seed_fixes_unseeded_models():
    lamina.utils.set_random_seed(123)
    a = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    b = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    lamina.utils.set_random_seed(123)
    c = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    d = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    assert a.seed == c.seed and b.seed == d.seed and a.seed != b.seed
    assert same_weights(a, c) and same_weights(b, d) and not same_weights(a, b)


CODE = """
import numpy as np, lamina
lamina.utils.set_random_seed(11)
rng = np.random.default_rng(0)
x = rng.normal(size=(50, 6)); y = rng.integers(0, 3, 50)
m = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(9, activation='relu'),
                       lamina.layers.Dropout(0.5), lamina.layers.Dense(3, activation='softmax')])
m.compile(optimizer='adam', loss='sparse_categorical_crossentropy')
m.fit(x, y, epochs=2, batch_size=8, verbose=0)
print(np.concatenate([w.ravel() for w in m.get_weights()]).tobytes().hex())
"""


def test_fresh_processes_with_different_thread_counts_agree():
    outs = []
    for n in ("1", "2"):
        r = run_python(CODE, {"LAMINA_NUM_THREADS": n})
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert outs[0] == outs[1]


def test_dropout_masks_depend_on_seed_only():
    x, y = make_data()
    a = make_model(seed=1, dropout=0.5)
    b = make_model(seed=1, dropout=0.5)
    a.fit(x, y, epochs=1, verbose=0)
    b.fit(x, y, epochs=1, verbose=0)
    assert same_weights(a, b)
    # Dropout is off at inference: predict is deterministic and equals predict_on_batch.
    np.testing.assert_array_equal(a.predict(x, verbose=0), a.predict_on_batch(x))
