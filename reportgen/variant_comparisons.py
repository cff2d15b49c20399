"""How far apart two variants, or a variant and a reference, really are, for the pages: the
recommended variant's lead on validation, seed noise by Welch's test, an ensemble against its
single-network version seed by seed, and the study recipe against the colour reference.
Observations beside the choice made on validation, never choices; from experiments.json's rows
alone (no torch)."""

from __future__ import annotations

from typing import Any

from scipy import stats

from reportgen.formatting import is_score, rounded


def selection_margin(
    recommended: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The runner-up on validation and the other variants whose val score lies within the
    spread of the recommended variant's own val score between seeds: `thin` where there are
    any (the pages say the lead, as the difference of the two scores shown).

    `just_outside`: variants outside that spread whose score reads as inside it at the pages'
    three decimals (0.43989 against a bound of 0.44004 reads 0.440 against 0.466 - 0.026), to be
    shown with `digits` decimals, enough to part each from the bound."""
    others = [row for row in rows if row is not recommended]
    if not others:
        return None
    by_val = sorted(others, key=lambda row: -row["val_balanced_accuracy"])
    lead = recommended["val_balanced_accuracy"]
    noise = recommended["val_sd_balanced_accuracy"]
    bound = None if noise is None else lead - noise
    # The other variants whose val score lies within that spread of it, best first.
    close = [] if bound is None else [r for r in by_val if r["val_balanced_accuracy"] > bound]
    just_outside = (
        []
        if bound is None
        else [
            r
            for r in by_val
            if r["val_balanced_accuracy"] <= bound
            and rounded(r["val_balanced_accuracy"]) >= rounded(lead) - rounded(noise)
        ]
    )
    return {
        "runner_up": by_val[0],
        # Whether the lead shows in the scores as the pages round them (else it reads 0.000).
        "lead_shows": rounded(lead) != rounded(by_val[0]["val_balanced_accuracy"]),
        "noise": noise,
        "close": close,
        "thin": bool(close),  # the runner-up, the closest, is among them
        "just_outside": just_outside,
        "bound": bound,
        "digits": _digits_to_part([r["val_balanced_accuracy"] for r in just_outside], bound),
    }


def _digits_to_part(scores: list[float], bound: float | None, most: int = 6) -> int:
    """The fewest decimals (4 or more, up to most) at which each score reads below bound."""
    digits = 4
    while (
        bound is not None
        and digits < most
        and any(rounded(score, digits) >= rounded(bound, digits) for score in scores)
    ):
        digits += 1
    return digits


NOISE_LEVEL = 0.05  # a difference is within seed noise when Welch's test gives p at least this
# An sd this small is rounding, not spread: numpy gives 8.5e-18 for three runs of 0.05 (and
# experiments.json files written before mean_sd said 0 for equal values keep such sds).
NO_SPREAD = 1e-12


def no_spread(sd: float | None) -> bool:
    """Whether an sd over seeds says every run scored the same (False for None: one seed)."""
    return sd is not None and abs(sd) < NO_SPREAD


def shown_alike(first: float | None, second: float | None) -> bool:
    """Whether two scores read the same as the pages round them (never where one is missing)."""
    return is_score(first) and is_score(second) and rounded(first) == rounded(second)


def within_seed_noise(
    delta: float, sd: float | None, n: int, baseline_sd: float | None, baseline_n: int
) -> bool | None:
    """Whether a difference of two means over seeds could be seed-to-seed noise: Welch's t-test
    (unequal variances) gives p >= 0.05, two-sided. With no spread on either side, only a tie is
    noise. None: one seed, so no spread to judge by."""
    if n < 2 or baseline_n < 2 or sd is None or baseline_sd is None:
        return None
    if no_spread(sd) and no_spread(baseline_sd):
        return abs(delta) < NO_SPREAD
    test = stats.ttest_ind_from_stats(delta, sd, n, 0.0, baseline_sd, baseline_n, equal_var=False)
    return bool(test.pvalue >= NOISE_LEVEL)


def difference_reading(
    mean: float,
    sd: float | None,
    n: int,
    baseline: float,
    baseline_sd: float | None,
    baseline_n: int,
) -> str | None:
    """How the pages qualify a variant's mean against the baseline's: "same" where they round
    alike, "alike" where every run of both scored the same (no spread: no test over seeds can
    judge the difference, which is then one of a few test images), "noise" where Welch's test
    cannot tell it from seed noise, "beyond" where it can; None with one seed (nothing to judge
    by) or where a mean is missing."""
    if not (is_score(mean) and is_score(baseline)):
        return None
    if shown_alike(mean, baseline):
        return "same"
    if n >= 2 and baseline_n >= 2 and no_spread(sd) and no_spread(baseline_sd):
        return "alike"
    noise = within_seed_noise(mean - baseline, sd, n, baseline_sd, baseline_n)
    if noise is None:
        return None
    return "noise" if noise else "beyond"


def paired_reading(differences: list[float | None]) -> str | None:
    """How per-seed differences (a variant's score minus another's, each pair run with the same
    seed: sharing their data order and, for an ensemble and its single network, that network)
    read: "lower" or "higher" beyond seed noise (the paired t-test gives p < 0.05), "noise"
    (p >= 0.05, or no difference in any seed), "alike" (the same non-zero difference in every
    seed: no spread to judge by). None with one seed, or where a score is missing (NaN)."""
    if len(differences) < 2 or not all(is_score(value) for value in differences):
        return None
    if max(differences) - min(differences) < NO_SPREAD:
        return "noise" if abs(differences[0]) < NO_SPREAD else "alike"
    if stats.ttest_1samp(differences, 0.0).pvalue >= NOISE_LEVEL:
        return "noise"
    return "lower" if sum(differences) < 0 else "higher"


COMPARED_COLUMNS = {
    "accuracy": "accuracy",
    "auc": "AUC",
    "balanced_accuracy": "balanced accuracy",
    "macro_f1": "macro F1",
}
SHARE_WORDS = {2: "half", 3: "a third", 4: "a quarter", 5: "a fifth"}


def single_network_version(
    recommended: dict[str, Any], rows: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Where the recommended variant's runs average several networks: the variant whose runs
    trained with the same settings and one network (its training cost divided by the ensemble
    size), with each column of COMPARED_COLUMNS by how its test scores read against the
    recommended variant's.
    The ensemble's run of seed s trains its first network with seed s, as the single network's run
    of the same seed, so the two are compared seed by seed (paired_reading), never as
    independent samples. None when there is no such pair. An observation beside the choice,
    never a choice."""

    def recipe(row: dict[str, Any]) -> dict[str, Any]:
        """The settings a variant's runs trained with, but for the seed and the ensemble size."""
        trained = row["first_run"]["config"]
        return {key: value for key, value in trained.items() if key not in ("seed", "ensemble")}

    networks = recommended["first_run"]["config"].get("ensemble", 1)
    if networks <= 1:
        return None
    single = next(
        (
            row
            for row in rows
            if row is not recommended
            and row["first_run"]["config"].get("ensemble", 1) == 1
            and recipe(row) == recipe(recommended)
        ),
        None,
    )
    if single is None:
        return None
    seeds = sorted(set(single["test_by_seed"]) & set(recommended["test_by_seed"]))

    def reading(column: str) -> str | None:
        """paired_reading of the column's per-seed differences; no difference where the pages
        show the two means alike, however steady the gap below them; None with one seed."""
        if len(seeds) < 2:
            return None
        if shown_alike(single["cells"][column]["mean"], recommended["cells"][column]["mean"]):
            return "noise"
        return paired_reading(
            [
                mine - theirs
                if is_score(mine := single["test_by_seed"][seed][column])
                and is_score(theirs := recommended["test_by_seed"][seed][column])
                else None
                for seed in seeds
            ]
        )

    readings = {label: reading(column) for column, label in COMPARED_COLUMNS.items()}

    def above(column: str) -> bool:
        """The single network's mean reads higher than the recommended variant's."""
        mine, theirs = single["cells"][column]["mean"], recommended["cells"][column]["mean"]
        return is_score(mine) and is_score(theirs) and rounded(mine) > rounded(theirs)

    return {
        "row": single,
        "networks": networks,
        "share": SHARE_WORDS.get(networks, f"1/{networks}"),  # of the recommended's training
        # The columns (as the pages name them) by how the single network's scores read against
        # the recommended variant's; a column with no reading (one seed, a missing score) in none.
        **{
            kind: [label for label, reading in readings.items() if reading == kind]
            for kind in ("lower", "higher", "alike", "noise")
        },
        "unjudged": [label for label, reading in readings.items() if reading is None],
        # Of the columns within seed noise, those where the single network's mean is the higher.
        "above": [
            label
            for column, label in COMPARED_COLUMNS.items()
            if readings[label] == "noise" and above(column)
        ],
        "judged": any(reading is not None for reading in readings.values()),
        "all_judged": all(reading is not None for reading in readings.values()),
    }


def best_rivals(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Per column (of the table's test scores), the other variants that a bold mean cannot be
    told from: those shown alike (bold too) and those within seed noise of one of the column's
    bold means (Welch's test; difference_reading "same" or "noise"). A bold mean is the highest,
    which with few seeds need not be the best. Several means share the bold where they read
    the same to three decimals (accuracies over a few hundred images tie exactly, too), and a
    variant close to any of them is in contention, whichever is counted as the lead. Each
    entry: "column", "rivals" (their names, in table order). Columns with no bold mean are
    left out; with one seed only those shown alike are (no spread to judge by)."""
    compared = []
    for column in columns:
        bold = [row for row in rows if row["cells"][column]["best"]]
        if not bold:
            continue
        lead = max(bold, key=lambda row: row["cells"][column]["mean"])
        rivals = [
            row["name"]
            for row in rows
            if row is not lead
            and any(_cannot_be_told_apart(row, bold_row, column) for bold_row in bold)
        ]
        compared.append({"column": column, "rivals": rivals})
    return compared


def _cannot_be_told_apart(row: dict[str, Any], other: dict[str, Any], column: str) -> bool:
    """Two table rows' means in column read alike or within seed noise (a row is not its own
    rival)."""
    return row is not other and difference_reading(
        row["cells"][column]["mean"],
        row["cells"][column]["sd"],
        row["n_runs"],
        other["cells"][column]["mean"],
        other["cells"][column]["sd"],
        other["n_runs"],
    ) in ("same", "noise")


# What a variant may change to be the baseline's recipe trained for longer: the epochs, and
# which epoch it keeps and when it stops.
LONGER_TRAINING_KEYS = frozenset({"epochs", "select_epoch", "patience"})


def longer_training(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first variant that trains the baseline's recipe (rows[0]) for more epochs and changes
    nothing else but LONGER_TRAINING_KEYS: what tells whether a still-falling validation loss
    meant more epochs would help. Its row, the baseline's epochs, whether it keeps the epoch with
    the best validation score, and the fewest and most epochs its runs trained and the earliest
    and latest they kept (None where a run does not record them). None where there is none."""
    base_epochs = rows[0]["first_run"]["config"]["epochs"]
    row = next(
        (
            row
            for row in rows[1:]
            if row["config"]
            and set(row["config"]) <= LONGER_TRAINING_KEYS
            and row["config"].get("epochs", base_epochs) > base_epochs
        ),
        None,
    )
    if row is None:
        return None

    def span(key: str) -> dict[str, int] | None:
        values = [run[key] for run in row["epochs_by_run"]]
        return None if None in values else {"low": min(values), "high": max(values)}

    kept = span("kept")
    return {
        "row": row,
        "base_epochs": base_epochs,
        "selects": row["first_run"]["config"].get("select_epoch", "last") != "last",
        "trained": span("trained"),
        "kept": kept,
        # Whether any run kept an epoch past the baseline's last: else it tests no more epochs.
        "past_base": kept is None or kept["high"] > base_epochs,
    }


# The metrics the colour reference is scored on, as the pages name them.
REFERENCE_METRICS = {"accuracy": "accuracy", "auc": "AUC", "balanced_accuracy": "balanced accuracy"}


def baseline_versus_reference(
    view: dict[str, Any] | None, colour_reference: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The study recipe's means over seeds (the experiments' baseline), to set beside the colour
    reference, since one run's lead over it can be a lucky seed's. None without both, or with
    one seed."""
    if view is None or colour_reference is None or view["one_seed"]:
        return None
    base = view["baseline"]["cells"]
    return {metric: base[metric]["mean"] for metric in REFERENCE_METRICS}


def baseline_seed_scores(
    view: dict[str, Any] | None, colour_reference: dict[str, Any] | None
) -> dict[str, list[float]] | None:
    """The study recipe's test scores seed by seed (the experiments' baseline), for judging its
    gap to the colour reference against seed noise; None where baseline_versus_reference is."""
    if baseline_versus_reference(view, colour_reference) is None:
        return None
    runs = list(view["baseline"]["test_by_seed"].values())  # type: ignore[index]
    return {metric: [run[metric] for run in runs] for metric in REFERENCE_METRICS}


def against_reference(
    scores: dict[str, float],
    colour_reference: dict[str, Any] | None,
    by_seed: dict[str, list[float]] | None = None,
) -> dict[str, list[str]]:
    """The metrics (as the pages name them) on which scores are "behind", "tied" with or
    "ahead" of the colour reference's, as the pages round them; all empty without one. With
    by_seed (each seed's scores, whose means scores are), a gap counts as ahead or behind only
    beyond seed noise (a t-test of the seeds' gaps, p < 0.05), and is "within_noise" else;
    "steady" then lists those ahead or behind by the same margin in every seed, where no test
    ran (no spread to judge by: every seed scored the same)."""
    sides: dict[str, list[str]] = {
        "behind": [], "tied": [], "within_noise": [], "ahead": [], "steady": [],
    }  # fmt: skip
    if colour_reference is None:
        return sides
    for metric, label in REFERENCE_METRICS.items():
        if not (is_score(scores[metric]) and is_score(colour_reference[metric])):
            continue  # a missing score is on no side
        mine, theirs = rounded(scores[metric]), rounded(colour_reference[metric])
        side = "behind" if mine < theirs else "tied" if mine == theirs else "ahead"
        if by_seed is not None and side != "tied":
            gaps = [score - colour_reference[metric] for score in by_seed[metric]]
            reading = paired_reading(gaps)
            if reading == "noise":
                side = "within_noise"
            elif reading == "alike":
                sides["steady"].append(label)
        sides[side].append(label)
    return sides


def no_better_than_reference(
    scores: dict[str, float],
    colour_reference: dict[str, Any] | None,
    by_seed: dict[str, list[float]] | None = None,
) -> list[dict[str, Any]]:
    """The metrics on which scores are no higher than the colour reference's (as the pages
    round them, or, with by_seed, beyond seed noise), each with its "label", the two values,
    its "side" of against_reference ("behind": lower, beyond seed noise with by_seed; "tied" or
    "within_noise") and whether it is "steady" there; none without a reference. Those behind
    come first, as the pages name them ("worse on X, and no better on Y")."""
    sides = against_reference(scores, colour_reference, by_seed)
    side_of = {
        label: side for side, labels in sides.items() if side != "steady" for label in labels
    }
    entries = [
        {
            "label": label,
            "network": scores[metric],
            "reference": colour_reference[metric],
            "side": side_of[label],
            "steady": label in sides["steady"],
        }
        for metric, label in REFERENCE_METRICS.items()
        if side_of.get(label) in ("behind", "tied", "within_noise")
    ]
    return sorted(entries, key=lambda entry: entry["side"] != "behind")
