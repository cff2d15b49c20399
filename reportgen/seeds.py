"""Which seed each network of a run trains with. Training reads it, so its text is part of
every cache key (cache.TRAINING_SOURCES): a changed stride retrains, never reuses."""

from __future__ import annotations

ENSEMBLE_SEED_STRIDE = 1000  # member i trains with seed + 1000 i: apart from the seeds of a plan


def member_seeds(seed: int, ensemble: int) -> list[int]:
    """The seed of each of a run's ensemble networks; the first is the run's own seed."""
    return [seed + ENSEMBLE_SEED_STRIDE * member for member in range(ensemble)]
