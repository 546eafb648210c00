"""Custom objects by name (Keras 3's ``keras.saving`` registry), for saved compile settings.

A model compiled with the user's own loss or metric (a function, or a ``Loss`` / ``Metric``
subclass) is saved with the object's *name*, never its code. Loading looks the name up, as
Keras 3 does, in:

1. the ``custom_objects`` given to ``load_model`` and any enclosing ``custom_object_scope``;
2. the objects registered with ``@register_keras_serializable(package, name)`` (saved
   under ``"package>name"``).

A name found nowhere fails the load with an error naming it (Keras 3 fails the same way);
``load_model(..., compile=False)`` still loads the architecture and weights. Nothing is
imported or executed from a file: a name only selects an object this process defined.

Example:
    >>> @register_keras_serializable(package="docs")
    ... def halved_mae(y_true, y_pred):
    ...     return 0.5 * abs(y_pred - y_true)
    >>> get_registered_name(halved_mae)
    'docs>halved_mae'
    >>> get_registered_object("docs>halved_mae") is halved_mae
    True
    >>> with custom_object_scope({"my_fn": len}):
    ...     get_registered_object("my_fn") is len
    True
"""

from __future__ import annotations

import inspect
import threading

__all__ = ["register_keras_serializable", "get_registered_name", "get_registered_object",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope", "lookup",
           "registered_key", "saved_name", "not_found"]

# "package>name" -> object, and object -> "package>name" (a subclass of a registered class
# is not registered by inheritance).
_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}
_local = threading.local()  # the custom_object_scope stack of this thread


def register_keras_serializable(package="Custom", name=None):
    """Registers a function or class so saved models can name it (``"package>name"``).

    Args:
        package: The package part of the registered name. Defaults to `"Custom"`.
        name: The name within the package. Defaults to `None` (the object's ``__name__``).

    Returns:
        A decorator that registers its argument and returns it unchanged.

    Raises:
        ValueError: A class without ``get_config`` (it could not be rebuilt), or a package
            or name that is not a string or contains ``">"``.

    Example:
        >>> @register_keras_serializable("docs", "double")
        ... def twice(y_true, y_pred):
        ...     return 2 * y_pred
        >>> get_registered_name(twice)
        'docs>double'
    """
    for what, value in (("package", package), ("name", name)):
        if value is not None and (not isinstance(value, str) or not value or ">" in value):
            raise ValueError(f"register_keras_serializable({what}={value!r}): a non-empty "
                             "string without '>' is needed")

    def decorate(obj):
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"cannot register class {obj.__name__}: it has no get_config() "
                             "method to save it by")
        key = f"{package}>{name or obj.__name__}"
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj
    return decorate


def get_registered_name(obj) -> str:
    """The name ``obj`` is saved under: its registered ``"package>name"``, else ``__name__``.

    Example:
        >>> get_registered_name(len)
        'len'
    """
    registered = registered_key(obj)
    return registered if registered is not None else obj.__name__


def registered_key(obj):
    """``obj``'s registered ``"package>name"``, or None when it is not registered."""
    try:
        return _GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:  # unhashable
        return None


def get_custom_objects() -> dict:
    """The live dict of registered objects (``"package>name" -> object``); editable.

    Example:
        >>> isinstance(get_custom_objects(), dict)
        True
    """
    return _GLOBAL_CUSTOM_OBJECTS


def _scoped() -> dict:
    merged = {}
    for objects in getattr(_local, "stack", ()):
        merged.update(objects)
    return merged


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object saved as ``name``: from an enclosing ``custom_object_scope``, the
    registered objects, ``custom_objects`` or ``module_objects`` (in that order), or None.

    Args:
        name: The saved name (``"package>name"`` or a plain name).
        custom_objects: ``{name: object}`` to look in as well. Defaults to `None`.
        module_objects: ``{name: object}`` to look in last. Defaults to `None`.

    Example:
        >>> get_registered_object("nowhere") is None
        True
    """
    for objects in (_scoped(), _GLOBAL_CUSTOM_OBJECTS, custom_objects or {},
                    module_objects or {}):
        if name in objects:
            return objects[name]
    return None


lookup = get_registered_object


class CustomObjectScope:
    """Makes ``{name: object}`` dicts visible to loading inside a ``with`` block (this
    thread only), like ``load_model(..., custom_objects=...)``.

    Args:
        *custom_objects: Dicts of ``{saved name: function or class}``; None is skipped.

    Example:
        >>> with CustomObjectScope({"my_loss": max}):
        ...     get_registered_object("my_loss") is max
        True
        >>> get_registered_object("my_loss") is None
        True
    """

    def __init__(self, *custom_objects):
        for objects in custom_objects:
            if objects is not None and not isinstance(objects, dict):
                raise TypeError(f"custom_objects must be dicts of {{name: object}}, got "
                                f"{objects!r}")
        self.custom_objects = [dict(o) for o in custom_objects if o]

    def __enter__(self):
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.extend(self.custom_objects)
        return self

    def __exit__(self, *exc):
        stack = _local.stack
        del stack[len(stack) - len(self.custom_objects):]


custom_object_scope = CustomObjectScope


def saved_name(obj, what):
    """The name to save a custom ``obj`` under, or ValueError for a lambda (no name to
    find it by again)."""
    try:
        name = get_registered_name(obj)
    except AttributeError:  # a callable object without __name__
        name = None
    if name in (None, "<lambda>"):
        raise ValueError(f"the custom {what} {name or type(obj).__name__!r} cannot be saved: "
                         "it has no name to restore it by; define it with def and decorate "
                         "it with @lamina.saving.register_keras_serializable(), or save the "
                         "weights only")
    return name


def not_found(what, name) -> str:
    """The message of a load that needs a custom object this process does not know."""
    return (f"custom {what} {name!r} is not registered in this process nor given in "
            "custom_objects: define it and decorate it with "
            "@lamina.saving.register_keras_serializable() before loading, pass "
            f"custom_objects={{{name!r}: ...}} to load_model (or use "
            "lamina.saving.custom_object_scope), or load with compile=False and compile "
            "again")
