"""The estimators' layer specs: ``hidden_layer_sizes`` or ``layers=`` to lamina layers.

Every layer is built by ``lamina.layers.deserialize`` from a Keras layer config, so the
layer classes' constructor signatures hold every name and default. A spec is either that
config, ``{"class_name": "Dense", "config": {"units": 64}}``, or its short spelling, the
config's keys with a ``type`` (``{"units": 64}``, ``{"type": "dropout", "rate": 0.2}``;
``type`` defaults to dense and names a layer class in snake or camel case).
"""

from __future__ import annotations

import numbers

import lamina


def check_specs(layers) -> None:
    """Raises TypeError unless ``layers`` is a list (or tuple) of dicts."""
    if not isinstance(layers, (list, tuple)) or not all(isinstance(s, dict) for s in layers):
        raise TypeError(
            "layers must be a list of dicts such as [{'units': 64, 'activation': 'relu'}, "
            "{'type': 'dropout', 'rate': 0.2}] or Keras layer configs "
            f"{{'class_name': 'Dense', 'config': {{'units': 64}}}}, got {layers!r}"
        )


def hidden_specs(hidden_layer_sizes, dropout) -> list:
    """The short specs of ``hidden_layer_sizes``: Dense layers, each followed by Dropout
    when ``dropout`` is above 0."""
    sizes = hidden_layer_sizes
    if isinstance(sizes, numbers.Integral):
        sizes = (sizes,)
    specs = []
    for units in sizes:
        specs.append({"units": int(units)})
        if dropout > 0:
            specs.append({"type": "dropout", "rate": float(dropout)})
    return specs


def _class_name(kind):
    """The lamina.layers class that a short spec's ``type`` names ("dense", "leaky_relu")."""
    if not isinstance(kind, str):
        raise TypeError(f"a layer type must be a string, got {kind!r}")
    key = kind.replace("_", "").lower()
    for name in lamina.layers.__all__:
        obj = getattr(lamina.layers, name)
        if isinstance(obj, type) and issubclass(obj, lamina.layers.Layer) and (
            name.lower() == key
        ):
            return name
    return kind  # unknown: lamina.layers.deserialize lists the accepted classes


def keras_config(spec: dict) -> dict:
    """Returns ``spec`` as a Keras layer config ``{"class_name": ..., "config": {...}}``.

    Example:
        >>> keras_config({"type": "leaky_relu", "negative_slope": 0.1})
        {'class_name': 'LeakyReLU', 'config': {'negative_slope': 0.1}}
        >>> keras_config({"units": 8})["class_name"]
        'Dense'
    """
    if "class_name" in spec:
        return {**spec, "config": dict(spec.get("config") or {})}
    config = dict(spec)
    return {"class_name": _class_name(config.pop("type", "dense")), "config": config}


def build_layers(specs, dense_defaults: dict, source=None) -> list:
    """Builds a layer per spec through ``lamina.layers.deserialize``.

    Args:
        specs: Short specs or Keras layer configs.
        dense_defaults: Values for the keys a Dense layer's config leaves out (the
            estimator's ``activation``, ``kernel_initializer`` and ``alpha`` penalty).
        source: The parameter the specs came from; its name and the spec's index prefix
            the error message of a spec that does not build. Defaults to `None`.

    Returns:
        The lamina layers, in order.
    """
    out = []
    for i, spec in enumerate(specs):
        try:
            config = keras_config(spec)
            cls = getattr(lamina.layers, str(config["class_name"]), None)
            if isinstance(cls, type) and issubclass(cls, lamina.layers.Dense):
                for key, value in dense_defaults.items():
                    config["config"].setdefault(key, value)
            out.append(lamina.layers.deserialize(config))
        except (TypeError, ValueError) as exc:
            if source is None or type(exc) not in (TypeError, ValueError):
                raise
            raise type(exc)(f"{source}[{i}] {spec!r}: {exc}") from None
    return out
