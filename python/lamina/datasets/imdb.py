"""IMDB movie reviews for sentiment (Keras's ``keras.datasets.imdb``): 25,000 training and
25,000 test reviews as lists of word indices (by frequency), labels 1 positive / 0 negative;
downloaded once into Keras's cache. Dense networks read them multi-hot encoded (one column
per word of the ``num_words`` most frequent).

Source: Maas et al., "Learning Word Vectors for Sentiment Analysis", ACL 2011.
"""

from __future__ import annotations

import json

import numpy as np

from ._keras_files import clip_vocabulary, fetch, load_sequences, object_array, shift_and_filter

__all__ = ["load_data", "get_word_index"]


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """Loads the IMDB reviews as word-index sequences (Keras's transforms and order).

    Args:
        path: The file's name in the cache. Defaults to `"imdb.npz"`.
        num_words: Keep the words of index below this (others become ``oov_char``).
            Defaults to `None` (all).
        skip_top: Also treat the words of index below this as out of vocabulary.
            Defaults to `0`.
        maxlen: Drop sequences of this length or longer. Defaults to `None`.
        seed: Seed of the shuffles (the training set's, then the test set's). Defaults to
            `113`.
        start_char: Index put at the start of every sequence (None: nothing).
            Defaults to `1`.
        oov_char: Index of out-of-vocabulary words (None: they are dropped). Defaults to `2`.
        index_from: Added to every word index. Defaults to `3`.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: object arrays of int lists, int labels.
    """
    f = load_sequences(fetch(path, "imdb.npz"))
    rng = np.random.RandomState(seed)  # one generator, the training set shuffled first
    sets = []
    for xk, yk in (("x_train", "y_train"), ("x_test", "y_test")):
        order = np.arange(len(f[xk]))
        rng.shuffle(order)
        xs, labels = shift_and_filter(f[xk][order], f[yk][order], maxlen=maxlen,
                                      start_char=start_char, index_from=index_from)
        if not xs:
            raise ValueError(f"no sequence of {xk} is shorter than maxlen={maxlen}: increase "
                             "maxlen")
        sets.append((xs, labels))
    n_train = len(sets[0][0])
    xs = clip_vocabulary(sets[0][0] + sets[1][0], num_words=num_words, skip_top=skip_top,
                         oov_char=oov_char)
    return ((object_array(xs[:n_train]), sets[0][1]), (object_array(xs[n_train:]), sets[1][1]))


def get_word_index(path="imdb_word_index.json"):
    """The ``{word: index}`` dictionary of the IMDB reviews (before ``index_from``).

    Args:
        path: The file's name in the cache. Defaults to `"imdb_word_index.json"`.
    """
    with open(fetch(path, "imdb_word_index.json")) as f:
        return json.load(f)
