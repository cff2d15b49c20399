"""A simple reference model: what an image's overall colour and brightness alone predict.

A logistic regression on each image's per-channel mean and standard deviation (6 numbers for an
RGB image, 2 for a grey one), fitted on the training split and scored on the test split. The
network's lead over it is what it learns beyond overall colour and brightness.

Fitting it needs every training and test image and takes seconds on a large file (PathMNIST's
89,996 training images), so a build caches it by reference_key: a build whose runs are all cached
then reads no images at all.
"""

from __future__ import annotations

import functools
import hashlib
import json
from importlib import metadata
from typing import Any

import numpy as np

from reportgen import metrics
from reportgen.digest import sources_digest

FEATURES = {  # by channel count: what the features are, in words
    3: "each channel's mean and standard deviation",
    1: "the image's mean brightness and its standard deviation",
}


# The code that computes the reference, whose text is part of its cache key.
REFERENCE_SOURCES = ("reference.py", "metrics.py")


@functools.cache
def _code_digest() -> str:
    """A digest of REFERENCE_SOURCES, read once per process (as cache.code_version)."""
    return sources_digest(REFERENCE_SOURCES)


def reference_key(data_md5: str, n_classes: int) -> str:
    """The cache key of the reference on a data file: the file's MD5, the class count, and the
    code and library versions that fit and score it (a change to any of them refits it)."""
    payload = json.dumps(
        {
            "data_md5": data_md5,
            "n_classes": n_classes,
            "code": _code_digest(),
            "scikit-learn": metadata.version("scikit-learn"),  # without importing it (a second)
            "numpy": np.__version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


# Images turned into floats at a time: a float64 copy of a large training split at once would
# take gigabytes (PathMNIST's 89,996 RGB images: 1.7 GB per copy).
FEATURE_BLOCK = 4096


def colour_features(images: np.ndarray) -> np.ndarray:
    """(N, 2C): per image, the mean then the standard deviation of each channel, in [0, 1]."""
    channels = images.shape[-1] if images.ndim == 4 else 1
    flat = images.reshape(images.shape[0], -1, channels)
    blocks = []
    for start in range(0, flat.shape[0], FEATURE_BLOCK):
        pixels = flat[start : start + FEATURE_BLOCK].astype(np.float64) / 255
        blocks.append(np.concatenate([pixels.mean(axis=1), pixels.std(axis=1)], axis=1))
    return np.concatenate(blocks)


def colour_reference(
    train_images: np.ndarray,
    train_labels: np.ndarray,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    n_classes: int,
) -> dict[str, Any]:
    """The reference model's test accuracy, mean one-vs-rest AUC and balanced accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_x, test_x = colour_features(train_images), colour_features(test_images)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(train_x, train_labels)
    probabilities = np.zeros((test_x.shape[0], n_classes))
    probabilities[:, model.classes_] = model.predict_proba(test_x)  # a class absent from train: 0
    return {
        "model": "logistic regression",
        "features": FEATURES[train_x.shape[1] // 2],  # two features per channel
        "n_features": train_x.shape[1],
        "accuracy": metrics.accuracy(test_labels, probabilities),
        "auc": metrics.mean_auc(test_labels, probabilities),
        "balanced_accuracy": metrics.balanced_accuracy(test_labels, probabilities.argmax(axis=1)),
    }
