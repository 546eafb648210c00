"""Keras 3's HDF5 weights layout: ``model.weights.h5`` and ``.weights.h5`` files.

Keras names each layer's group after its class in snake case, numbered per class in
model order (``layers/dense/vars/0`` is the first Dense layer's kernel,
``layers/dense_1/vars/1`` the second one's bias; a nested model adds
``layers/sequential/layers/...``), and writes the optimizer as ``optimizer/vars/0``
(``iterations``), ``optimizer/vars/1`` (the learning rate), the weights' moving averages
(``use_ema``, one per trained weight) and then its slot variables.
Each layer's variables are numbered in Keras's weight order, which is
``layer.get_weights()``'s order in lamina.

The optimizer's slots map onto Keras's variables by the order Keras creates them: the
slot kinds a Keras optimizer creates with one ``add_optimizer_variables`` call are
interleaved parameter by parameter (Adam: momentum, velocity of the first parameter, then
of the second ...), separate calls follow one another (RMSprop: every velocity, then every
momentum). ``_SLOT_GROUPS`` lists those calls per optimizer.

Reading checks every dataset's shape against the model before it is read (``lamina.hdf5``
refuses links, virtual datasets and oversized declarations first).

Example:
    >>> import lamina
    >>> from lamina import keras_weights
    >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2),
    ...                            lamina.layers.Dense(1)], seed=0)
    >>> [p for p, _ in keras_weights.layer_paths(model)]
    ['layers/dense', 'layers/dense_1']
"""

from __future__ import annotations

import numpy as np

from ._validation import first_nonfinite
from .io import MAX_ITERATIONS, ModelFileError, check_optimizer_slot, saved_optimizer
from .keras_config import body_layers, is_functional, to_snake_case
from .optimizers import ema

__all__ = ["layer_paths", "fill_h5", "read_h5"]

# Keras's optimizer variables after iterations and learning_rate: one group per
# add_optimizer_variables call, listing the lamina slot indices it creates (interleaved
# per parameter within a group).
_SLOT_GROUPS = {
    "SGD": lambda o: [[0]] if o.num_slots else [],
    "Adam": lambda o: [[0, 1]] + ([[2]] if o.num_slots > 2 else []),
    "AdamW": lambda o: [[0, 1]] + ([[2]] if o.num_slots > 2 else []),
    "Adamax": lambda o: [[0, 1]],
    "Nadam": lambda o: [[0, 1]],
    "Adagrad": lambda o: [[0]],
    "Adadelta": lambda o: [[0, 1]],
    "Lion": lambda o: [[0]],
    "RMSprop": lambda o: [[k] for k in range(o.num_slots)],
}


def _is_model(layer):
    return isinstance(getattr(layer, "layers", None), list)


def layer_paths(model, prefix="", with_input=False):
    """``[(group path, layer)]`` in Keras's naming, nested models flattened.

    Args:
        model: A lamina model.
        prefix: Path of the model's own group. Defaults to `""`.
        with_input: Count an InputLayer first (Keras functional models list it).
            Defaults to `False`.
    """
    used = {"input_layer": 0} if with_input else {}
    out = []
    for layer in body_layers(model):
        name = to_snake_case(type(layer).__name__)
        if _is_model(layer):
            name = "sequential"
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        path = f"{prefix}layers/{name}"
        if _is_model(layer):
            out += layer_paths(layer, path + "/")
        else:
            out.append((path, layer))
    return out


def _slot_order(opt):
    """lamina ``(param index, slot index)`` pairs in Keras's variable order."""
    groups = _SLOT_GROUPS.get(type(opt).__name__)
    if groups is None:
        raise ValueError(f"optimizer {type(opt).__name__} has no Keras variable layout")
    order = []
    for group in groups(opt):
        for p in range(len(opt.slots or [])):
            order += [(p, k) for k in group]
    return order


def _averages(opt, params):
    """The ``use_ema`` averages Keras keeps after the learning rate (none without use_ema):
    the optimizer's own, or the weights where it has averaged no step yet (Keras's first
    step overwrites them the same way)."""
    if not opt.use_ema:
        return []
    return ema.saved(opt) or [np.array(p) for p in params]


def _optimizer_arrays(opt, params=()):
    arrays = [np.array(opt.iterations, dtype=np.int64)]
    if opt.schedule is None:
        arrays.append(np.array(float(opt.learning_rate), dtype=np.float32))
    arrays += _averages(opt, params)
    arrays += [opt.slots[p][k] for p, k in _slot_order(opt)]
    if type(opt).__name__ == "Nadam":
        arrays.append(np.array(opt.optimizer_state[0], dtype=opt.slots[0][0].dtype
                               if opt.slots else np.float32))
    return arrays


def fill_h5(model, f, optimizer=True):
    """Writes the model's weights (and optimizer variables) into an open h5py File."""
    f.create_group("vars")
    functional = is_functional(model)
    if functional:  # Keras's Functional tracks its InputLayer too (no variables)
        f.create_group("layers/input_layer/vars")
    for path, layer in layer_paths(model, with_input=functional):
        segs = path.split("/")
        for i in range(2, len(segs) - 1, 2):  # a nested model's own (empty) vars group
            f.require_group("/".join(segs[:i]) + "/vars")
        group = f.create_group(f"{path}/vars")
        for i, w in enumerate(layer.get_weights()):
            group.create_dataset(str(i), data=w)
    if optimizer and model.compiled and model.optimizer is not None and model._loss is not None:
        opt = saved_optimizer(model)
        group = f.create_group("optimizer/vars")
        for i, a in enumerate(_optimizer_arrays(opt, model.trainable_weights)):
            group.create_dataset(str(i), data=a)


def _check_finite(arr, where, path):
    bad = first_nonfinite(arr)
    if bad is not None:
        raise ModelFileError(f"{path!r}: {where} contains {arr[bad]} at index {bad}: NaN or "
                             "inf")


def read_h5(model, checked, optimizer=True, functional=None):
    """Copies weights (and optimizer state) from a checked Keras-layout HDF5 file.

    Args:
        model: The built lamina model the file belongs to.
        checked: A ``lamina.hdf5.CheckedFile``.
        optimizer: Restore the optimizer variables when the file has them and the model is
            compiled. Defaults to `True`.
        functional: Whether the writer was a Keras functional model (its InputLayer has a
            group); None detects it. Defaults to `None`.
    """
    path = checked.path
    if functional is None:
        functional = checked.has("layers/input_layer")
    pairs = layer_paths(model, with_input=functional)
    staged = []
    for group, layer in pairs:
        live = layer.weights
        names = checked.children(f"{group}/vars") if checked.has(f"{group}/vars") else []
        if not checked.has(group) and live:
            raise ModelFileError(f"{path!r} has no group {group!r} for layer {layer.name!r} "
                                 f"({type(layer).__name__})")
        want = [str(i) for i in range(len(live))]
        if sorted(names, key=lambda n: (len(n), n)) != want:
            raise ModelFileError(f"{path!r}: {group}/vars holds {names}, layer {layer.name!r} "
                                 f"({type(layer).__name__}) has {len(live)} weights")
        for i, w in enumerate(live):
            arr = checked.read(f"{group}/vars/{i}", w.shape, w.dtype)
            _check_finite(arr, f"{group}/vars/{i}", path)
            staged.append((w, arr))
    known = {g for g, _ in pairs}
    for name in checked.children("layers") if checked.has("layers") else []:
        group = f"layers/{name}"
        if group in known or any(k.startswith(group + "/") for k in known):
            continue
        if any(checked.shape(p) is not None for p in checked.objects
               if p.startswith(group + "/vars/")):
            raise ModelFileError(f"{path!r}: group {group!r} holds weights for a layer the "
                                 "model does not have")
    for w, arr in staged:
        np.copyto(w, arr)
    if optimizer and checked.has("optimizer/vars") and model.compiled and model._loss is not None:
        _read_optimizer(model, checked)


def _read_optimizer(model, checked):
    path = checked.path
    opt = model.optimizer
    if not opt.built:
        opt.build(model.trainable_weights)
    try:
        live = _optimizer_arrays(opt, model.trainable_weights)
    except ValueError as exc:
        raise ModelFileError(f"{path!r}: {exc}") from None
    names = checked.children("optimizer/vars")
    if len(names) != len(live):
        raise ModelFileError(f"{path!r}: optimizer/vars holds {len(names)} variables, the "
                             f"model's {type(opt).__name__} has {len(live)}")
    values = []
    for i, ref in enumerate(live):
        # iterations read as float64 first: a fractional count must not be truncated
        arr = checked.read(f"optimizer/vars/{i}", ref.shape,
                           np.float64 if i == 0 else ref.dtype)
        _check_finite(arr, f"optimizer/vars/{i}", path)
        values.append(arr)
    count = float(values[0])
    if count != int(count) or not 0 <= count <= MAX_ITERATIONS:
        raise ModelFileError(f"{path!r}: optimizer iterations (optimizer/vars/0) must be a "
                             f"whole number in [0, {MAX_ITERATIONS}], got {count!r}")
    iterations = int(count)
    k = 1 if opt.schedule is not None else 2
    averages = len(_averages(opt, model.trainable_weights))
    first_slot = k + averages
    for i, ((p, s), arr) in enumerate(zip(_slot_order(opt), values[first_slot:])):
        check_optimizer_slot(opt, s, arr, f"optimizer/vars/{first_slot + i}", path)
    # Everything checked: copy into the optimizer.
    if opt.schedule is None and np.float32(opt.learning_rate) != np.float32(values[1]):
        try:  # Keras keeps the learning rate in float32
            opt.learning_rate = float(values[1])
        except ValueError as exc:
            raise ModelFileError(f"{path!r}: optimizer/vars/1 (the learning rate): "
                                 f"{exc}") from None
    if averages:
        ema.restore(opt, values[k:k + averages])
        k += averages
    for (p, s), arr in zip(_slot_order(opt), values[k:]):
        np.copyto(opt.slots[p][s], arr)
    if type(opt).__name__ == "Nadam":
        opt.optimizer_state[0] = float(values[-1])
    opt.iterations = iterations
