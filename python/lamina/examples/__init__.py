"""The bundled examples: run files that each change one hyperparameter, in lessons.

Every lesson (a *group*) trains the same model on the same data with the same optimizer and
changes one hyperparameter; ``lamina compare`` draws the group as one figure. The run files
ship with lamina, so ``lamina train dropout`` works wherever lamina is installed;
``lamina examples`` lists them and ``lamina examples copy DIR`` writes them out to edit.

They train on ``clusters.npz`` (beside the run files): a synthetic tabular task of 6,000
samples, 40 features and 10 classes, each class a mixture of Gaussian clusters, with 20
noise features and 10 % of the labels replaced by random ones, made by
``examples/make_data.py`` in lamina's repository with a fixed seed. A model that fits every
training label has memorized noise, so overfitting shows, and every validation curve is
measured on 1,200 samples or more.

Example:
    >>> from lamina import examples
    >>> examples.find("dropout").name
    'dropout.toml'
    >>> [g.name for g in examples.GROUPS][:3]
    ['layers and units', 'activation', 'epochs']
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

__all__ = ["Group", "GROUPS", "HERE", "names", "find", "find_space", "copy_to"]

HERE = Path(__file__).resolve().parent


class Group(NamedTuple):
    """One lesson: the run files that differ in one hyperparameter, and what they show."""

    name: str
    files: tuple
    claim: str


GROUPS = (
    Group("layers and units", ("units_2", "units_128", "layers_3"),
          "2 hidden units underfit: both losses stall near 2 (validation accuracy 0.25); "
          "1 x 128 and 3 x 32 learn the clusters (validation loss about 1.0, accuracy 0.74)"),
    Group("activation", ("sigmoid", "tanh", "relu"),
          "with plain SGD, 4 sigmoid layers stay at the untrained loss ln(10) = 2.30 for 20 "
          "epochs (vanishing gradients); tanh and relu learn (1.35 and 1.20)"),
    Group("epochs", ("epochs_100", "early_stopping", "epochs_10"),
          "one run cut at three lengths: 10 epochs stop while the validation loss still "
          "falls; 100 epochs pass its minimum (1.06 at epoch 22) and it turns up to 1.81 "
          "while the training loss goes to 0.02 (overfitting); early stopping ends at epoch "
          "27 with the weights of epoch 22"),
    Group("batch size", ("batch_size_1", "batch_size_32", "batch_size_full"),
          "batch 1 takes 3,840 noisy steps per epoch: the fastest start, then a jumpy "
          "validation loss (it rose in 14 of 19 epochs, and overfits); batch 32 falls "
          "smoothly; the full batch takes one step per epoch and barely moves (2.51 to 2.43)"),
    Group("optimizer", ("sgd", "momentum", "rmsprop", "adam"),
          "at their default learning rates, momentum, RMSprop and Adam reach a validation "
          "loss of 0.98-0.99 within 13 epochs; plain SGD is at 1.21 after 20"),
    Group("learning rate", ("lr_too_low", "lr_good", "lr_too_high", "lr_diverging"),
          "SGD at 0.0003 barely moves (2.50 to 2.25); at 0.03 it learns (0.99); at 2 it jumps "
          "around a worse loss (training loss 1.33 against 0.82, validation accuracy 0.55 "
          "against 0.75); at 5 the loss explodes (1e33) and is NaN from epoch 2"),
    Group("initialization", ("init_zeros", "init_large_normal", "init_glorot_uniform",
                             "init_he_normal"),
          "zeros never break the symmetry: the loss stays at 2.30; a large normal saturates "
          "tanh: the network memorizes the training set (training loss 1.25) while the "
          "validation loss stays above 2.0; Glorot and He learn (1.0 and 1.1)"),
    Group("L1 / L2", ("no_regularization", "l1", "l2"),
          "without regularization the oversized network's validation loss turns up from "
          "1.07 (epoch 5) to 2.09; with L1 or L2 it levels off near 1.4 although the penalty "
          "is included, and the validation accuracy ends higher (0.73 and 0.71 against 0.685)"),
    Group("dropout", ("no_regularization", "dropout"),
          "dropout 0.5 lowers the best validation loss (1.01 against 1.07) and keeps it "
          "there; the train/validation gap at the last epoch shrinks from 2.09 to 0.35 and "
          "the validation accuracy ends at 0.75 against 0.685"),
)


def names() -> list[str]:
    """The bundled run files' names (what ``lamina train NAME`` accepts), sorted.

    Example:
        >>> "dropout" in names()
        True
    """
    return sorted(p.stem for p in HERE.glob("*.toml"))


def find(name: str | os.PathLike) -> Path:
    """The path of the bundled run file `name` (``"dropout"`` or ``"dropout.toml"``).

    Args:
        name: An example's name.

    Raises:
        KeyError: no bundled example has that name (the message lists them).

    Example:
        >>> find("lr_good.toml").stem
        'lr_good'
    """
    stem = Path(name).name.removesuffix(".toml")
    path = HERE / f"{stem}.toml"
    if str(name) not in (stem, f"{stem}.toml") or not path.is_file():
        raise KeyError(f"{str(name)!r} is not a bundled example; they are: "
                       f"{', '.join(names())}")
    return path


def find_space(name: str | os.PathLike) -> Path:
    """The path of a bundled sweep space (``lamina tune``'s second argument) by name.

    Args:
        name: A space's name, e.g. ``"adam_space"``.

    Example:
        >>> find_space("adam_space").parent.name
        'sweeps'
    """
    stem = Path(name).name.removesuffix(".toml")
    path = HERE / "sweeps" / f"{stem}.toml"
    if str(name) not in (stem, f"{stem}.toml") or not path.is_file():
        spaces = sorted(p.stem for p in (HERE / "sweeps").glob("*.toml"))
        raise KeyError(f"{str(name)!r} is not a bundled sweep space; they are: "
                       f"{', '.join(spaces)}")
    return path


def copy_to(directory: str | os.PathLike, overwrite: bool = False) -> list[Path]:
    """Writes the run files, sweep spaces, data and scripts to `directory`.

    The copies train the same as the bundled files (their data path is relative).

    Args:
        directory: Where to write (created if missing).
        overwrite: Replace files that exist. Defaults to `False` (an existing file is an
            error, naming it, before anything is written).

    Returns:
        The written paths.

    Example:
        >>> import tempfile
        >>> written = copy_to(tempfile.mkdtemp())
        >>> sorted(p.name for p in written if p.suffix != ".toml")
        ['clusters.npz', 'keras_style.py']
    """
    target = Path(directory)
    sources = [p for p in sorted(HERE.rglob("*"))
               if p.is_file() and p.suffix in (".toml", ".npz", ".py")
               and p.name != "__init__.py" and "__pycache__" not in p.parts]
    pairs = [(src, target / src.relative_to(HERE)) for src in sources]
    if not overwrite:
        existing = [str(dst) for _, dst in pairs if dst.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} exists ({len(existing)} of the "
                                  f"{len(pairs)} files do); pass overwrite to replace them")
    for src, dst in pairs:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    return [dst for _, dst in pairs]
