"""Reuters newswire topics (Keras's ``keras.datasets.reuters``): 11,228 newswires as lists of
word indices (by frequency), labelled with one of 46 topics; downloaded once into Keras's
cache. Keras's split: a seeded shuffle, the first ``1 - test_split`` for training.

Source: the Reuters-21578 collection (Lewis, 1997), as prepared for Keras.
"""

from __future__ import annotations

import json

import numpy as np

from ._keras_files import (check_split, clip_vocabulary, fetch, load_sequences, object_array,
                           shift_and_filter, shuffled)

__all__ = ["load_data", "get_word_index", "get_label_names"]

_LABELS = ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
           "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
           "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
           "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
           "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
           "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Loads the Reuters newswires as word-index sequences (Keras's transforms and order).

    Args:
        path: The file's name in the cache. Defaults to `"reuters.npz"`.
        num_words: Keep the words of index below this. Defaults to `None` (all).
        skip_top: Also treat the words of index below this as out of vocabulary.
            Defaults to `0`.
        maxlen: Drop sequences of this length or longer. Defaults to `None`.
        test_split: Fraction held out for testing, in [0, 1). Defaults to `0.2`.
        seed: Seed of the shuffle before the split. Defaults to `113`.
        start_char: Index put at the start of every sequence (None: nothing).
            Defaults to `1`.
        oov_char: Index of out-of-vocabulary words (None: they are dropped). Defaults to `2`.
        index_from: Added to every word index. Defaults to `3`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of int lists, int topics.
    """
    test_split = check_split(test_split)
    f = load_sequences(fetch(path, "reuters.npz"))
    x, y = shuffled(seed, f["x"], f["y"])
    xs, labels = shift_and_filter(x, y, maxlen=maxlen, start_char=start_char,
                                  index_from=index_from)
    xs = clip_vocabulary(xs, num_words=num_words, skip_top=skip_top, oov_char=oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((object_array(xs[:cut]), np.array(labels[:cut])),
            (object_array(xs[cut:]), np.array(labels[cut:])))


def get_word_index(path="reuters_word_index.json"):
    """The ``{word: index}`` dictionary of the Reuters newswires (before ``index_from``).

    Args:
        path: The file's name in the cache. Defaults to `"reuters_word_index.json"`.
    """
    with open(fetch(path, "reuters_word_index.json")) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, in label order."""
    return _LABELS
