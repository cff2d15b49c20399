"""Honest validation scores: each choice a run makes on val is scored on images that did not
make it.

A run may choose two things on the validation split: the epoch whose weights each network keeps
(select_epoch) and per-class decision offsets (threshold_tuning). Scored on the images that made
them, such choices look better than they are: the best of 20 epochs on 120 images is partly the
luckiest. Here val is split into stratified folds, and each fold is scored with the epochs and
offsets chosen on the other folds. The score compares variants; the run itself keeps the choices
made on all of val, for test.

Early stopping is replayed the same way: each fold's epoch is the best on the other folds before
their own scores stop improving for `patience` epochs. Only the epochs that ran can be chosen, so
where all of val stopped the run before the other folds would have, that much of the stopping
decision still saw the held-out fold.

Shapes: labels (N,); per network, probabilities after each epoch run (E, N, K).
"""

from __future__ import annotations

import numpy as np

from reportgen.selection import first_best, patience_ran_out, selection_score
from reportgen.thresholds import apply_offsets, tune_offsets


def stratified_folds(labels: np.ndarray, seed: int, folds: int = 2) -> np.ndarray:
    """(N,) fold number of each image, each class dealt evenly over the folds in a seeded order."""
    rng = np.random.default_rng(seed)
    fold_of = np.empty(labels.shape[0], dtype=np.int64)
    for k in np.unique(labels):
        members = np.flatnonzero(labels == k)
        fold_of[rng.permutation(members)] = np.arange(members.size) % folds
    return fold_of


def best_epoch(
    labels: np.ndarray, epoch_probabilities: np.ndarray, select_epoch: str, patience: int = 0
) -> int:
    """0-based index of the epoch select_epoch keeps: the last for "last", else the first best
    among the epochs train_model would have run with this patience (0: all of them)."""
    if select_epoch == "last":
        return epoch_probabilities.shape[0] - 1
    scores: list[float] = []
    for epoch in epoch_probabilities:
        scores.append(selection_score(labels, epoch, select_epoch))
        if patience_ran_out(scores, patience):
            break
    return first_best(scores)


def cross_fitted_probabilities(
    labels: np.ndarray,
    member_epochs: list[np.ndarray],
    select_epoch: str,
    tune_thresholds: bool,
    seed: int,
    patience: int = 0,
    folds: int = 2,
) -> np.ndarray:
    """(N, K) validation probabilities in which no image helped choose its own epochs or offsets.

    For each fold: every network keeps the epoch best on the other folds, stopping early on their
    scores as on all of val (within the epochs that ran), their probabilities are averaged, and
    (with tune_thresholds) offsets tuned on the other folds are applied.
    """
    fold_of = stratified_folds(labels, seed, folds)
    adjusted = np.empty(member_epochs[0].shape[1:])
    for fold in range(folds):
        held_out, fit = fold_of == fold, fold_of != fold
        chosen = [
            epochs[best_epoch(labels[fit], epochs[:, fit], select_epoch, patience)]
            for epochs in member_epochs
        ]
        probabilities = np.mean(chosen, axis=0)
        held_out_probabilities = probabilities[held_out]
        if tune_thresholds:
            offsets = tune_offsets(labels[fit], probabilities[fit])
            held_out_probabilities = apply_offsets(held_out_probabilities, offsets)
        adjusted[held_out] = held_out_probabilities
    return adjusted
