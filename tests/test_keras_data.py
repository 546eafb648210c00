"""Keras's own data classes feed lamina's fit: a ``keras.utils.PyDataset`` subclass and a
torch ``DataLoader`` train exactly as the same batches from arrays.

Needs the ``interop`` extra (Keras 3 on the torch backend); skips cleanly without it.
"""

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
try:
    import keras
except ImportError as exc:  # no Keras, or no backend for it (lamina[interop])
    pytest.skip(f"Keras 3 with a backend is needed: {exc}", allow_module_level=True)

from test_fit import make_data, make_model, same_weights  # noqa: E402

X, Y = make_data(n=50)


class KerasBatches(keras.utils.PyDataset):
    def __init__(self, bs=8, **kwargs):
        super().__init__(**kwargs)
        self.bs = bs
        self.ended = 0

    def __len__(self):
        return -(-len(X) // self.bs)

    def __getitem__(self, i):
        return X[i * self.bs:(i + 1) * self.bs], Y[i * self.bs:(i + 1) * self.bs]

    def on_epoch_end(self):
        self.ended += 1


@pytest.mark.parametrize("workers", [1, 3])
def test_keras_pydataset_trains_as_arrays(workers):
    ds = KerasBatches(workers=workers)
    a, b = make_model(seed=6, optimizer="adam"), make_model(seed=6, optimizer="adam")
    ha = a.fit(ds, epochs=2, shuffle=False, verbose=0, validation_data=KerasBatches())
    hb = b.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
               validation_data=(X, Y), validation_batch_size=8)
    assert same_weights(a, b) and ha.history == hb.history
    assert ds.ended == 2


def test_torch_dataloader_trains_as_arrays():
    torch = pytest.importorskip("torch")
    data = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=False)
    a, b = make_model(seed=6), make_model(seed=6)
    ha = a.fit(loader, epochs=2, verbose=0)
    hb = b.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert same_weights(a, b) and ha.history == hb.history
    np.testing.assert_array_equal(a.predict(loader, verbose=0), b.predict(X, verbose=0))
