"""Soak: 300 cycles of build / fit / predict / save / load in one process, with resident
memory bounded (no leak of Networks, arenas, pool threads or file handles per cycle)."""

import gc
import os

import numpy as np
import pytest

import lamina

CYCLES = 300
# Growth allowed between the end of the warm-up and the last cycle. A leak of even one
# model per cycle (its weights, optimizer slots, Network arena: ~100 KB here) would add ~30
# MB; allocator noise stays well under this.
GROWTH_LIMIT = 24 << 20


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_soak_build_fit_predict_save_load(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 16)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    path = tmp_path / "m.lamina"
    fds = len(os.listdir("/proc/self/fd"))
    threads = lamina.get_num_threads()
    samples = []
    for cycle in range(CYCLES):
        model = lamina.Sequential([lamina.Input((16,)),
                                   lamina.layers.Dense(64, activation="relu"),
                                   lamina.layers.Dropout(0.1),
                                   lamina.layers.Dense(2, activation="softmax")], seed=cycle)
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, validation_split=0.25)
        p = model.predict(x, verbose=0)
        model.save(path)
        loaded = lamina.load_model(path)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), p)
        loaded.fit(x, y, epochs=1, batch_size=64, verbose=0)
        if cycle % 50 == 0:
            lamina.set_num_threads(1 + cycle % 3)  # resize the pool now and then
        del model, loaded, p
        if cycle % 10 == 9:
            gc.collect()
            samples.append(_rss())
    lamina.set_num_threads(threads)
    warm = samples[2]  # after 30 cycles: caches, arenas and the pool have their size
    growth = max(samples[3:]) - warm
    print(f"soak: RSS after warm-up {warm / 2**20:.1f} MiB, growth over {CYCLES - 30} "
          f"cycles {growth / 2**20:.2f} MiB")
    assert growth < GROWTH_LIMIT, [s / 2**20 for s in samples]
    assert len(os.listdir("/proc/self/fd")) <= fds + 2  # no file handles left open
