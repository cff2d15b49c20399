"""Rendered Markdown: snapshots from fixed results, escaping of data text, per-dataset wording."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from scipy import stats
from sklearn.metrics import precision_score, recall_score

from reportgen import sources
from reportgen.config import unmet_needs
from reportgen.evaluate import summarize_test
from reportgen.experiments import mean_sd
from reportgen.experiments_view import (
    GLOSSARY_SETTINGS,
    collapsed_onto,
    experiments_view,
    glossary_terms,
    image_difference,
)
from reportgen.formatting import (
    escape_markdown,
    fmt_alternatives,
    fmt_counted,
    fmt_difference,
    fmt_mean_count,
    fmt_number,
    fmt_percent,
    fmt_setting,
    rounded,
)
from reportgen.page_readings import (
    auc_extremes,
    calibration_direction,
    class_mix_shift,
    curves_reading,
    finding_rates,
    half_width,
    ordinal_reference,
    percent_shares,
    recipe_changes,
    training_reading,
    val_loss_trend,
)
from reportgen.recipe import validation_uses
from reportgen.render import (
    DOWNLOADS,
    PAGES,
    Templates,
    make_environment,
    page_context,
    read_templates,
    render_pages,
)
from reportgen.variant_comparisons import (
    COMPARED_COLUMNS,
    against_reference,
    baseline_versus_reference,
    difference_reading,
    longer_training,
    no_better_than_reference,
    paired_reading,
    selection_margin,
    within_seed_noise,
)
from tests.conftest import RETINAMNIST_COUNTS, assert_blocks_set_apart, make_results

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE_HINT = "If the change is intended, refresh with: REPORTGEN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_render.py"


@pytest.mark.parametrize("page", [*PAGES, *DOWNLOADS])
def test_pages_match_snapshots(page: str) -> None:
    rendered = render_pages(make_results())[page]
    snapshot = SNAPSHOTS / page
    if os.environ.get("REPORTGEN_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(rendered)
        pytest.skip("snapshot written: the comparison runs without REPORTGEN_UPDATE_SNAPSHOTS")
    assert rendered == snapshot.read_text(), UPDATE_HINT


def test_html_and_markdown_in_class_names_render_as_text() -> None:
    names = [
        "<script>alert(1)</script>",
        "a | b",
        "*bold*",
        "# heading",
        "under_score",
        "ok",
        "[link](x)",
    ]
    pages = render_pages(make_results(class_names=names))
    results_page = pages["results.md"]
    assert "<script>" not in results_page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in results_page
    assert r"| a \| b |" in results_page
    assert r"\*bold\*" in results_page and r"\# heading" in results_page
    assert r"\[link\](x)" in results_page


def test_escape_markdown_leaves_plain_text_alone() -> None:
    assert escape_markdown("melanocytic nevi") == "melanocytic nevi"
    assert escape_markdown("0.838") == "0.838"


def test_other_datasets_never_name_dermamnist_and_official_files_carry_no_warning() -> None:
    pages = render_pages(make_results(flag="retinamnist", official=True))
    for name, text in pages.items():
        body = text.split("## The MedMNIST collection")[0]
        assert "DermaMNIST" not in body and "dermamnist" not in body, name
        assert "HAM10000" not in body, name
        assert "RetinaMNIST" in text, name
        notice = (
            '!!! info "Data: RetinaMNIST"'
            if name in PAGES
            else "> **Data:** every number in this card comes from RetinaMNIST"
        )
        assert "Unofficial" not in text and notice in text, name
    assert "The study vs this run" not in pages["index.md"]


def test_every_page_says_research_only_and_dermamnist_pages_say_why_scores_are_optimistic() -> None:
    pages = render_pages(make_results())
    for name, text in pages.items():
        assert "Research and education only — not a diagnostic device" in text, name
    for name in ("index.md", "dataset.md", "results.md"):
        assert "one lesion can be on both sides of the split" in pages[name], name
        assert "Abhishek, Jain and Hamarneh" in pages[name], name
    # The imbalance note on the headline pages; Dataset makes the point under its prevalence table.
    for name in ("index.md", "results.md"):
        assert "Class imbalance: why accuracy flatters" in pages[name], name
    assert "Class imbalance" not in pages["dataset.md"]
    assert "so accuracy rewards predicting it" in pages["dataset.md"]
    assert "Leakage between splits" in pages["model-card.md"]


def test_imbalance_note_computes_the_majority_class_baseline() -> None:
    results = make_results()
    test_counts = results["dataset"]["counts"]["test"]
    baseline = max(test_counts) / sum(
        test_counts
    )  # the synthetic majority class is the same in every split
    page = render_pages(results)["results.md"]
    assert f"would score an accuracy of {baseline:.3f}" in page
    row = "| Accuracy of always answering *melanocytic nevi* (majority-class reference) |"
    assert f"{row} {baseline:.3f} | |" in page


def test_template_text_is_not_escaped_as_data() -> None:
    for name, text in render_pages(make_results()).items():
        assert r"\*\*" not in text, name  # bold written by a template must stay bold
    assert "(**unofficial**)" in render_pages(make_results())["dataset.md"]


def test_results_page_shows_every_interval() -> None:
    results = make_results()
    intervals = results["test"]["intervals"]
    page = render_pages(results)["results.md"]
    for key, label in (
        ("accuracy", "Accuracy"),
        ("auc", "AUC (mean one-vs-rest)"),
        ("balanced_accuracy", "Balanced accuracy"),
    ):
        low, high = intervals[key]["low"], intervals[key]["high"]
        cell = f'<span class="nowrap">{low:.3f}–{high:.3f}</span>'  # never broken after the dash
        assert f"| {label} | {results['test'][key]:.3f} | {cell} |" in page
    for row, interval in zip(
        results["test"]["report"]["classes"], intervals["per_class_recall"], strict=True
    ):
        cell = f'<span class="nowrap">{interval["low"]:.2f}–{interval["high"]:.2f}</span>'
        assert f"| {row['recall']:.2f} | {cell} |" in page
    assert f"**{results['test']['calibration']['ece']:.3f}**" in page
    assert "figures/reliability_diagram.png" in page


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_model_card_metadata_is_valid_model_index_yaml() -> None:
    results = make_results(flag="retinamnist", official=True)
    metadata = front_matter(render_pages(results)["data/model_card.md"])
    assert metadata["license"] == "cc-by-4.0"
    (entry,) = metadata["model-index"]
    assert entry["name"] == "reportgen-studycnn-retinamnist"
    (result,) = entry["results"]
    assert result["dataset"]["name"] == "RetinaMNIST" and result["dataset"]["split"] == "test"
    assert result["dataset"]["args"]["official_medmnist_file"] is True
    values = {metric["type"]: metric for metric in result["metrics"]}
    test = results["test"]
    assert values["accuracy"]["value"] == round(test["accuracy"], 4)
    assert values["roc_auc"]["value"] == round(test["auc"], 4)
    assert values["balanced_accuracy"]["args"]["ci_low"] == round(
        test["intervals"]["balanced_accuracy"]["low"], 4
    )
    assert values["ece"]["value"] == round(test["calibration"]["ece"], 4)


def test_model_card_of_an_unofficial_file_does_not_claim_the_dataset() -> None:
    pages = render_pages(make_results())
    metadata = front_matter(pages["data/model_card.md"])
    dataset = metadata["model-index"][0]["results"][0]["dataset"]
    assert dataset["name"] == "unofficial dermamnist.npz (not DermaMNIST)"
    # Nor does the model's name, which the card's title repeats.
    assert metadata["model-index"][0]["name"] == "reportgen-studycnn-unofficial-dermamnist"
    assert "# Model card: reportgen-studycnn-unofficial-dermamnist" in pages["model-card.md"]
    assert dataset["args"] == {"file_md5": "0" * 32, "official_medmnist_file": False}
    assert metadata["license"] == "unknown"  # the official release's cc-by-nc-4.0 is not the file's
    assert (
        "an unofficial file whose licence is not known; the official DermaMNIST release is "
        in (pages["model-card.md"])
    )


def test_model_card_has_every_section_whatever_the_class_names() -> None:
    names = ["a: b", "- c", "'quoted'", "#hash", "ok", "x\ny", "{z}"]
    card = render_pages(make_results(class_names=names))["data/model_card.md"]
    assert (
        front_matter(card)["model-index"][0]["name"] == "reportgen-studycnn-unofficial-dermamnist"
    )
    for section in (
        "## Intended use",
        "## Out-of-scope use",
        "## Training data",
        "## Evaluation",
        "## Limitations",
        "## Ethical considerations",
        "## Citation",
    ):
        assert section in card


def test_dermamnist_dataset_page_names_its_origin_and_split() -> None:
    page = render_pages(make_results())["dataset.md"]
    assert "HAM10000" in page and "10,015" in page and "7:1:2" in page
    assert "12 2D and 6 3D" in page


def test_training_page_names_the_precision_and_reads_older_results_without_it() -> None:
    results = make_results()
    assert "| Precision | float32 |" in render_pages(results)["training.md"]
    results["config"]["precision"] = "bf16"
    assert (
        "| Precision | bfloat16 mixed precision (autocast) |"
        in render_pages(results)["training.md"]
    )
    del results["config"]["precision"]  # a results.json written before the option existed
    assert "| Precision | float32 |" in render_pages(results)["training.md"]


def test_pages_name_the_hardware_and_read_older_results_without_it() -> None:
    results = make_results()  # written before device_name was recorded
    assert "| Device | cpu |" in render_pages(results)["training.md"]
    results["environment"]["device_name"] = "NVIDIA H100 80GB HBM3"
    pages = render_pages(results)
    assert "| Device | cpu (NVIDIA H100 80GB HBM3) |" in pages["training.md"]
    assert "trained on cpu (NVIDIA H100 80GB HBM3)" in pages["model-card.md"]


def test_model_page_says_each_layer_in_words_and_reads_older_results_without_them() -> None:
    results = make_results()
    page = render_pages(results)["model.md"]
    assert "| `classifier.5` | dense layer: 128 → 7 values | 7 |" in page
    assert "    - `classifier.5`: `Linear(in_features=128, out_features=7, bias=True)`" in page
    del results["model"]["layers"][0]["description"]  # written before layers were described
    page = render_pages(results)["model.md"]
    assert "| `classifier.5` | `Linear(in_features=128, out_features=7, bias=True)` | 7 |" in page
    assert "as PyTorch prints them" not in page and "| Layer | Operation |" in page


def test_the_study_decision_tables_are_where_issue_2_puts_them() -> None:
    """The why-CNN table on Model and Trade-offs; the why-not table on Trade-offs alone."""
    from reportgen.study import WHY_CNN, WHY_NOT

    pages = render_pages(make_results(official=True))
    for name, reason in WHY_CNN:
        for page in ("model.md", "tradeoffs.md"):
            assert f"| {name} | {reason} |" in pages[page], page
    for name, reason in WHY_NOT:
        assert f"| {name} | {reason} |" in pages["tradeoffs.md"]
        assert f"| {name} |" not in pages["model.md"]
    assert "are on [Trade-offs](tradeoffs.md#why-not-other-networks)." in pages["model.md"]


def test_training_page_describes_an_ensemble_only_when_there_is_one() -> None:
    results = make_results()
    assert "| Ensemble |" not in render_pages(results)["training.md"]
    results["config"]["ensemble"] = 3
    results["selection"]["ensemble_seeds"] = [4, 1004, 2004]
    page = render_pages(results)["training.md"]
    assert "| Ensemble | 3 networks trained alike with seeds 4, 1004, 2004;" in page


@pytest.mark.parametrize(
    ("official", "epochs", "retrained"),
    [
        (True, 10, None),
        (True, 3, "with changed settings"),
        (False, 10, "on an unofficial file"),
        (False, 3, "on an unofficial file with changed settings"),
    ],
    ids=["the-studys-recipe", "changed-settings", "unofficial-file", "both"],
)
def test_only_the_studys_recipe_on_the_official_file_claims_a_reproduction(
    official: bool, epochs: int, retrained: str | None
) -> None:
    results = make_results(official=official)
    results["config"]["epochs"] = epochs  # the study's 10, or a change (the fixture trains 3)
    pages = render_pages(results)
    study_words = next(line for line in pages["index.md"].splitlines() if "**The study**" in line)
    intended_use = pages["model-card.md"].split("- Teaching and research: ")[1].split(",")[0]
    if retrained is None:
        assert pages["index.md"].splitlines()[0] == "# DermaMNIST: the study's CNN, reproduced"
        # The recipe is the study's; whether its numbers come out the same is for the table.
        assert "whose network and recipe this site re-runs unchanged on the official" in study_words
        assert "(index.md#the-study-vs-this-run)" in study_words
        assert intended_use == "reproducing the student study's baseline"
    else:
        title = f"# DermaMNIST: the study's CNN, retrained {retrained}"
        assert pages["index.md"].splitlines()[0] == title
        assert study_words.endswith(f"whose network and recipe this site retrains {retrained}.")
        assert intended_use == f"retraining the student study's baseline {retrained}"
        assert "reproduc" not in study_words + intended_use


def test_another_datasets_overview_says_an_unofficial_file_is_not_that_dataset() -> None:
    official = render_pages(make_results(flag="retinamnist", official=True))["index.md"]
    unofficial = render_pages(make_results(flag="retinamnist"))["index.md"]
    assert "applied to **RetinaMNIST**: every number on this site describes RetinaMNIST," in (
        official
    )
    assert (
        "applied to **an unofficial RetinaMNIST file**: every number on this site describes that "
        "file, neither the official RetinaMNIST nor skin lesions, and none can be compared"
    ) in unofficial


def test_only_the_study_dataset_names_the_study_in_its_title() -> None:
    derma = render_pages(make_results())["index.md"]
    retina = render_pages(make_results(flag="retinamnist", official=True))["index.md"]
    assert derma.splitlines()[0].startswith("# DermaMNIST: the study's CNN, ")
    assert retina.splitlines()[0] == "# RetinaMNIST: the study's CNN, applied to a new dataset"
    # Another dataset's overview says which study it follows, without naming its dataset.
    assert "The study this site follows" in retina and "skin lesions" in retina
    assert "The study this site follows" not in derma


def test_model_cards_cite_medmnist_and_the_source_dataset_they_know() -> None:
    retina = render_pages(make_results(flag="retinamnist", official=True))["model-card.md"]
    citation = retina.split("## Citation")[1]
    assert (
        "@article{yang2023medmnistv2," in citation
        and "@inproceedings{yang2021medmnist," in citation
    )
    assert "@article{liu2022deepdrid," in citation and "10.1016/j.patter.2022.100512" in citation
    assert "it is named in the MedMNIST description" not in citation
    oct = render_pages(make_results(flag="octmnist", official=True))["model-card.md"]
    assert (
        "source dataset of OCTMNIST (it is named in the MedMNIST description of OCTMNIST) when"
        in oct
    )


def test_graded_datasets_say_what_grades_mean_and_how_far_off_predictions_are() -> None:
    retina = render_pages(make_results(flag="retinamnist", official=True))
    assert "| grade 4 | proliferative retinopathy |" in retina["dataset.md"]
    assert "## How far off the grades are" in retina["results.md"]
    assert "| Quadratic weighted kappa |" in retina["results.md"]
    derma = render_pages(make_results())
    assert "How far off" not in derma["results.md"] and "| Meaning |" not in derma["dataset.md"]


def test_ordinal_reference_is_the_constant_answer_and_the_worst_miss() -> None:
    # rows: true grades 0..2; the largest training grade is 0
    test = {"confusion_matrix": [[5, 0, 0], [2, 1, 1], [3, 0, 1]]}
    reference = ordinal_reference(test, train_counts=[10, 4, 2])
    assert reference["mean_absolute_error"] == pytest.approx((4 * 1 + 4 * 2) / 13)
    assert reference["off_by_two_or_more"] == pytest.approx(4 / 13)
    assert reference["highest_count"] == 4 and reference["highest_called_lowest"] == 3
    page = render_pages(make_results(flag="retinamnist", official=True))["results.md"]
    assert (
        "For reference, always answering *grade 4*, the most common training grade" in page
    )  # the fixture's largest training class


def test_the_experiments_page_quotes_half_the_width_of_the_accuracy_interval() -> None:
    # An asymmetric interval: its half width, not the distance from the estimate to a bound.
    assert half_width({"estimate": 0.8, "low": 0.6, "high": 0.9}) == pytest.approx(0.15)
    assert half_width({"estimate": None, "low": None, "high": None}) is None
    results = make_results()
    results["test"]["intervals"]["accuracy"] = {"estimate": 0.8, "low": 0.7, "high": 0.86}
    assert page_context(results)["accuracy_half_width"] == pytest.approx(0.08)
    # The sentence that quotes it: test_the_dermamnist_page_quotes_the_issues_references_....


def test_classes_never_found_are_named_so_and_why_their_interval_is_not_bootstrapped() -> None:
    results = make_results(flag="retinamnist", official=True)
    names = results["dataset"]["class_names"]
    labels = np.repeat(np.arange(5), 10)
    predicted = np.where(np.isin(labels, [1, 4]), 0, labels)
    results["test"] = summarize_test(labels, np.eye(5)[predicted] * 0.6 + 0.08, names)
    pages = render_pages(results)
    never = f"- **{names[4]}** (proliferative retinopathy) is never found: recall 0.00 (0 of 10"
    assert never in pages["index.md"]
    assert f"at zero in every resample (here *{names[1]}*, *{names[4]}*)" in pages["results.md"]
    balanced = results["test"]["intervals"]["balanced_accuracy"]
    # Every class is all found or none found, so every bootstrap resample scores 0.60 again.
    assert balanced["low"] < 0.57 and balanced["high"] > 0.63


def test_findings_name_classes_the_model_never_predicts() -> None:
    results = make_results(flag="retinamnist", official=True)
    names = results["dataset"]["class_names"]
    labels = np.repeat(np.arange(5), 10)
    predicted = np.where(np.isin(labels, [1, 4]), 0, labels)  # grades 1 and 4 are never given
    results["test"] = summarize_test(labels, np.eye(5)[predicted] * 0.6 + 0.08, names)
    pages = render_pages(results)
    assert (
        f"The model never predicts **{names[1]}** or **{names[4]}**: no test image"
        in (pages["index.md"])
    )
    # Their precision is 0 of 0: n/a, not scikit-learn's 0.00, and said why under the table.
    assert f"| {names[4]} | n/a | 0.00 |" in pages["results.md"]
    assert f"| {names[4]} | 10 | n/a | 0.00 |" in pages["model-card.md"]
    uncalled = (
        f"The model called no test image *{names[1]}* or *{names[4]}*, so their precision, the "
        "share of such calls that are right, is undefined"
    )
    assert (
        uncalled + "; the averages count it as 0, as scikit-learn's report does."
        in (pages["results.md"])
    )
    assert uncalled + "; scikit-learn's report prints 0.00 for it." in pages["model-card.md"]
    macro = next(row for row in results["test"]["report"]["averages"] if row["name"] == "macro avg")
    assert macro["precision"] == pytest.approx((1 / 3 + 1 + 1) / 5)  # the two n/a count as 0
    others = render_pages(make_results())
    assert "never predicts" not in others["index.md"]
    assert "n/a* marks" not in others["results.md"] + others["model-card.md"]


def test_the_study_table_says_why_a_class_never_called_has_no_precision() -> None:
    results = make_results()  # DermaMNIST's classes, so the study's table is there
    names = results["dataset"]["class_names"]
    labels = np.repeat(np.arange(7), 10)
    predicted = np.where(labels == 3, 5, labels)  # the fourth class is never given
    results["test"] = summarize_test(labels, np.eye(7)[predicted] * 0.6 + 0.06, names)
    page = render_pages(results)["index.md"]
    assert f"| {names[3]} | 0.00 / n/a | 0.00 / 0.00 | 0.00 / 0.00 |" in page
    assert (
        f"*n/a* marks a score of 0 out of 0. The model called no test image *{names[3]}*, so its "
        "precision, the share of such calls that are right, is undefined; scikit-learn's report "
        "prints 0.00 for it."
    ) in page


def test_next_steps_do_not_say_the_rare_classes_lag_where_they_are_found_most() -> None:
    results = make_results("pneumoniamnist", official=True)
    names = results["dataset"]["class_names"]
    train = results["dataset"]["counts"]["train"]
    rare = int(np.argmin(train))
    labels = np.repeat([rare, 1 - rare], 10)
    predicted = np.where(np.arange(20) < 15, rare, 1 - rare)  # rare: all 10; the other: 5 of 10
    results["test"] = summarize_test(labels, np.eye(2)[predicted] * 0.8 + 0.1, names)
    page = render_pages(results)["next-steps.md"]
    assert (
        "Every class is found at least once in this run, and the rare class is not the one that "
        "lags: its recall is 1.00 against 0.50 for the other class (below)."
    ) in page
    assert "recall (below) lags" not in page
    assert "The rarest class in this run:" in page
    # Seven classes, the rare half found less often: the premise holds.
    derma = make_results()
    names = derma["dataset"]["class_names"]
    rare_half = np.argsort(derma["dataset"]["counts"]["train"])[:3]
    labels = np.repeat(np.arange(7), 10)
    predicted = np.where(np.isin(labels, rare_half) & (np.arange(70) % 10 < 5), 5, labels)
    derma["test"] = summarize_test(labels, np.eye(7)[predicted] * 0.6 + 0.06, names)
    page = render_pages(derma)["next-steps.md"]
    assert "but the rare classes' recall (below) lags: weighting the loss" in page
    assert "The rarest classes in this run:" in page


def test_two_class_grayscale_pages_do_not_speak_of_many_classes_or_channels() -> None:
    results = make_results("pneumoniamnist", official=True)
    names = results["dataset"]["class_names"]  # normal, pneumonia
    labels = np.repeat([0, 1], 10)
    predicted = np.where(np.arange(20) < 14, 0, 1)  # pneumonia: 6 of 10 found, 4 called normal
    results["test"] = summarize_test(labels, np.eye(2)[predicted] * 0.8 + 0.1, names)
    pages = render_pages(results)
    assert f"while finding no *{names[0]}* image." in pages["index.md"]
    assert "The other 4 images are called *normal*." in pages["index.md"]
    assert "mistaken for" not in pages["index.md"]
    assert "| AUC | " in pages["results.md"] and "| AUC | " in pages["model-card.md"]
    assert "Accuracy and AUC per epoch" in pages["training.md"]
    assert "mean one-vs-rest" not in pages["results.md"] + pages["data/model_card.md"]
    assert "standard deviation 0.5, to [-1, 1]" in pages["dataset.md"]  # one channel
    assert (
        "Flips and rotations suit PneumoniaMNIST poorly: chest X-rays are read in one standard "
        "orientation, so a flipped or rotated one puts the heart on the wrong side"
    ) in pages["next-steps.md"]
    derma = render_pages(make_results())
    assert "while finding no other class." in derma["index.md"]
    assert "| AUC (mean one-vs-rest) | " in derma["results.md"]
    assert "standard deviation 0.5 on every channel" in derma["dataset.md"]
    assert "suit DermaMNIST poorly" not in derma["next-steps.md"]


def test_a_last_epoch_jump_in_val_loss_is_called_instability_not_overfitting() -> None:
    results = make_results("pneumoniamnist", official=True)
    losses = [0.33, 0.15, 0.12, 0.1, 0.79]
    results["history"] = [
        {
            **results["history"][0],
            "epoch": e,
            "val_loss": loss,
            "val_auc": 0.99 - e / 1000,
            "val_accuracy": 0.656 if e == 5 else 0.96,
        }
        for e, loss in enumerate(losses, start=1)
    ]
    pages = render_pages(results)
    assert (
        "validation loss jumped in the last epoch, from 0.100 after epoch 4 to 0.790 after epoch "
        "5, while validation AUC, which only ranks the images, went from 0.986 to 0.985: one large "
        "training step moved the network's decisions (validation accuracy went from 0.960 to "
        "0.656), which is instability rather than the gradual rise of overfitting."
    ) in pages["training.md"]
    assert (
        "validation loss jumped from 0.100 to 0.790 in the last epoch (5), with train"
        in (pages["next-steps.md"])
    )
    assert "overfit" not in pages["next-steps.md"].split("jumped")[1].split("\n")[0]


def test_a_test_split_with_other_class_proportions_than_validation_is_named() -> None:
    pneumonia = {  # PneumoniaMNIST's official counts: test from another part of the source
        "class_names": ["normal", "pneumonia"],
        "counts": {"train": [1214, 3494], "val": [135, 389], "test": [234, 390]},
    }
    shift = class_mix_shift(pneumonia)
    assert shift["name"] == "normal"
    assert shift["test"] == pytest.approx(234 / 624) and shift["val"] == pytest.approx(135 / 524)
    retina = {"class_names": [f"grade {k}" for k in range(5)], "counts": RETINAMNIST_COUNTS}
    assert class_mix_shift(retina) is None  # at most 1.5 points apart
    assert class_mix_shift({**pneumonia, "counts": {**pneumonia["counts"], "val": [0, 0]}}) is None


def test_epochs_of_a_twentieth_of_a_second_keep_two_decimals() -> None:
    results = make_results()
    for row in results["history"]:
        row["seconds"] = 0.05
    assert "| 0.05 |" in render_pages(results)["training.md"]  # not "| 0.0 |"
    for row in results["history"]:
        row["seconds"] = 2.34
    page = render_pages(results)["training.md"]
    assert "| 2.3 |" in page and "| 2.34 |" not in page


def test_the_n_a_note_speaks_only_of_cells_that_are_missing() -> None:
    undefined_scores = make_environment().get_template("_macros.md.j2").module.undefined_scores
    rows = [
        {"name": "a", "support": 5, "precision": 0.8},
        {"name": "c", "support": 0, "precision": 0.0},  # called once, wrongly: measured
        {"name": "d", "support": 0, "precision": None},  # neither held nor called
    ]
    assert str(undefined_scores(rows, averages=True)) == (
        "*n/a* marks a score of 0 out of 0. The test split holds no image of *c* or *d*: their "
        "recall is n/a, and so are the precision and F1 of *d*, which no test image was called; "
        "the averages leave out a class neither held nor called."
    )
    # A file written before precision became n/a keeps 0.00: the note claims no more n/a.
    rows[2]["precision"] = 0.0
    assert str(undefined_scores(rows, averages=True)).endswith("*c* or *d*: their recall is n/a.")
    assert str(undefined_scores(rows[:1])) == ""


def test_split_shares_add_up_to_100_percent() -> None:
    assert percent_shares([1080, 120, 400]) == [67.5, 7.5, 25.0]  # whole: 68 + 8 + 25 = 101
    assert percent_shares([1, 1, 1]) == [33.4, 33.3, 33.3]
    assert percent_shares([1, 1, 1], decimals=0) == [34, 33, 33]
    assert percent_shares([0, 0]) == [0, 0]
    assert sum(percent_shares([7007, 1003, 2005])) == pytest.approx(100)


@pytest.mark.parametrize(
    ("val_losses", "trend"),
    [
        ([1.0, 0.9, 0.8], "falling"),
        ([1.0, 0.8, 0.85], "rising"),
        ([1.0, 0.8, 0.81, 0.80, 0.805], "flat"),
        # RetinaMNIST's seed 0: best at epoch 9 by 0.001, still 2.3% below epoch 7
        ([1.607, 1.541, 1.395, 1.271, 1.196, 1.128, 1.11, 1.113, 1.084, 1.085], "falling"),
        # PneumoniaMNIST's seed 0 on a GPU: 0.097 after epoch 9, 0.790 after epoch 10.
        ([0.332, 0.414, 0.149, 0.123, 1.064, 0.133, 0.098, 0.104, 0.097, 0.79], "jumped"),
        ([1.0, 0.5, 1.0], "jumped"),  # twice the epoch before: one step, not a trend
        ([1.0, 0.5, 0.9], "rising"),
    ],
)
def test_the_optimisation_step_reads_the_val_loss_trend(val_losses: list, trend: str) -> None:
    history = [{"epoch": e, "val_loss": loss} for e, loss in enumerate(val_losses, start=1)]
    assert val_loss_trend(history) == trend


@pytest.mark.parametrize(
    ("value", "toml", "shown"),
    [
        (True, False, "true"),
        (False, True, "false"),
        (None, False, "not set"),
        ("wide_cnn", False, "wide_cnn"),
        ("wide_cnn", True, '"wide_cnn"'),
        (0.003, True, "0.003"),
        (15, True, "15"),
    ],
)
def test_settings_read_as_a_user_writes_them(value: object, toml: bool, shown: str) -> None:
    assert fmt_setting(value, toml=toml) == shown


def test_counts_agree_with_their_nouns() -> None:
    assert [fmt_counted(n, "seed") for n in (0, 1, 3)] == ["0 seeds", "1 seed", "3 seeds"]
    assert [fmt_counted(n, "time") for n in (1, 2, 3)] == ["once", "twice", "3 times"]
    # Thousands grouped, as every other count on the pages: "1341 of its 1,341" read oddly.
    assert fmt_counted(1784, "image") == "1,784 images"
    assert [fmt_mean_count(v) for v in (1340.7, 1341.0, 2.0, 1 / 3)] == [
        "1,340.7",
        "1,341",
        "2",
        "0.3",
    ]
    pm = make_environment().get_template("_macros.md.j2").module.pm
    assert str(pm(1340.7, 12.25, 0)) == "1,340.7\u00a0±\u00a012.3"  # counts: as the text gives them
    # A mean and its spread share one precision: "116 ± 29.1" read as a mean rounded coarser
    # than its spread. Whole only when both are (every seed called as many images).
    assert str(pm(116.0, 29.07, 0)) == "116.0\u00a0±\u00a029.1"
    assert str(pm(116.0, 0.0, 0)) == "116\u00a0±\u00a00"
    assert str(pm(1 / 3, 0.0, 0)) == "0.3\u00a0±\u00a00.0"
    assert str(pm(116.0, None, 0)) == "116"  # one seed: no spread
    assert str(pm(0.5, 0.01)) == "0.500\u00a0±\u00a00.010"


def test_alternatives_read_a_comma_list_ending_in_or_with_each_name_escaped() -> None:
    assert fmt_alternatives(["melanoma"]) == "*melanoma*"
    assert fmt_alternatives(["grade 2", "grade 3"], "**") == "**grade 2** or **grade 3**"
    assert fmt_alternatives(["a", "b_c", "d"]) == "*a*, *b\\_c* or *d*"
    assert fmt_alternatives(["accuracy", "AUC"], "", "and") == "accuracy and AUC"


def test_a_variant_that_finds_only_the_largest_class_is_called_out() -> None:
    dataset = {"counts": {"train": [50, 400, 30]}, "class_names": ["a", "big", "c"]}
    assert collapsed_onto([0.02, 0.99, 0.0], dataset) == "big"
    assert collapsed_onto([0.30, 0.96, 0.0], dataset) is None  # it finds another class
    assert collapsed_onto([0.0, 0.90, 0.0], dataset) is None
    # A class without test images (recall missing) is not one the model rarely finds.
    assert collapsed_onto([None, 0.99, 0.0], dataset) == "big"
    assert collapsed_onto([None, 0.99, None], dataset) is None  # no other class measured
    assert collapsed_onto([0.0, None, 0.0], dataset) is None
    row = {
        "name": "slow",
        "slug": "slow",
        "cells": {
            "accuracy": {"mean": 0.61},
            "balanced_accuracy": {"mean": 0.34},
            "focus_recall": {"mean": 0.0},
            "focus_called": {"mean": 2.0},
            "focus_rightly": {"mean": 0.0},
        },
        "versus_baseline": {
            "accuracy": {"mean": 0.61, "baseline": 0.70, "reading": "beyond", "images": None},
            "balanced_accuracy": {
                "mean": 0.34,
                "baseline": 0.44,
                "reading": "beyond",
                "images": None,
            },
            "focus_recall": {"mean": 0.0, "baseline": 0.0, "reading": "same", "images": None},
        },
        "steps": ["class_weighted_loss"],
        "config": {"loss_weighting": "inverse_frequency"},
        "recommended": False,
        "collapsed_onto": "big",
        "recall_falls": [],  # as experiments_view gives a collapsed variant
    }
    experiments = {"focus_class": "c", "focus_test_images": 30, "one_seed": False}
    line = make_environment().get_template("_bought.md.j2").render(row=row, experiments=experiments)
    assert "— it finds *big* nearly always" in line  # emphasis, not escaped asterisks
    # What it costs, too: accuracy first.
    assert line.startswith("- [slow](experiments.md#slow): accuracy 0.610 (-0.090), balanced ")
    assert "settings at once" not in line  # one setting
    row["config"] = {"model": "wide_cnn", "lr": 0.003, "epochs": 15, "optimizer": "adamw"}
    line = make_environment().get_template("_bought.md.j2").render(row=row, experiments=experiments)
    assert "— it changes 4 settings at once (epochs, lr, model, optimizer)" in line
    assert (
        "(-0.100), c recall 0.000 (no change), with, per run on average, 2 test images called *c*, 0 of them rightly"
        in line
    )


@pytest.mark.parametrize("flag", ["dermamnist", "retinamnist"])
def test_every_block_is_set_apart_from_the_paragraph_above_it(flag: str) -> None:
    for name, text in render_pages(make_results(flag=flag, official=True)).items():
        assert_blocks_set_apart(name, text)


def test_the_grade_scale_is_cited_on_the_dataset_page() -> None:
    page = render_pages(make_results(flag="retinamnist", official=True))["dataset.md"]
    assert "Retinopathy (ICDR) severity scale ([Wilkinson et al." in page
    assert "(https://doi.org/10.1016/S0161-6420%2803%2900475-5)" in page  # no bare ")" in the URL
    assert "| grade 4 | proliferative retinopathy |" in page


def test_a_difference_welchs_test_cannot_tell_from_seed_noise_is_marked_so() -> None:
    # RetinaMNIST's class-weighted variant against the baseline (balanced accuracy, 3 seeds):
    # +0.021 with sds 0.030 and 0.025: p = 0.41.
    assert within_seed_noise(0.021, 0.030, 3, 0.025, 3) is True
    # wide-cnn-ensemble: +0.045 with sds 0.004 and 0.025 is 3 standard errors, yet with about 2
    # degrees of freedom p = 0.087: still noise. wide-cnn's +0.053 with sd 0.014: p = 0.046.
    assert within_seed_noise(0.0447, 0.004, 3, 0.025, 3) is True
    assert within_seed_noise(0.053, 0.014, 3, 0.025, 3) is False
    assert within_seed_noise(-0.044, 0.0, 3, 0.0, 3) is False  # no spread: any change shows
    assert within_seed_noise(0.0, 0.0, 3, 0.0, 3) is True  # ...but a tie is a tie
    # adamw's grade-4 recall on RetinaMNIST: +1/15 with sd 0.0577 against 0: p = 0.18
    assert within_seed_noise(1 / 15, (1 / 300) ** 0.5, 3, 0.0, 3) is True
    assert within_seed_noise(0.5, 0.1, 1, 0.1, 3) is None  # one seed: no spread to judge by
    # What the pages write: the same to three decimals; alike in every seed (the recommended
    # variant's one grade-4 image of 20 in each seed, against none); Welch's reading otherwise.
    assert difference_reading(0.3404, 0.01, 3, 0.3396, 0.01, 3) == "same"
    assert difference_reading(0.05, 0.0, 3, 0.0, 0.0, 3) == "alike"
    # numpy's sd of three recalls of 0.05 is 8.5e-18, as older experiments.json files keep it;
    # mean_sd now says 0.
    assert difference_reading(0.05, 8.5e-18, 3, 0.0, 0.0, 3) == "alike"
    assert mean_sd([{"auc": 0.05}] * 3, ("auc",))[1] == {"auc": 0.0}
    assert difference_reading(0.05, 0.0, 1, 0.0, None, 3) is None
    assert difference_reading(0.021, 0.030, 3, 0.0, 0.025, 3) == "noise"
    assert difference_reading(0.053, 0.014, 3, 0.0, 0.025, 3) == "beyond"
    # Seed by seed: a gain or loss in every seed is beyond noise, one that changes sign is not,
    # nor a tie; the same non-zero difference in every seed has no spread to judge by; one seed
    # or a missing score (NaN) gives no reading.
    assert paired_reading([0.012, 0.01, 0.008]) == "higher"
    assert paired_reading([-0.012, -0.01, -0.008]) == "lower"
    assert paired_reading([0.03, -0.02, 0.0]) == "noise"
    assert paired_reading([0.0, 0.0, 0.0]) == "noise"
    assert paired_reading([0.01, 0.01, 0.01]) == "alike"
    assert paired_reading([0.01]) is None
    assert paired_reading([0.012, float("nan"), 0.008]) is None
    # A missing mean (NaN in a build, null in experiments.json) is qualified as nothing.
    assert difference_reading(float("nan"), 0.01, 3, 0.5, 0.01, 3) is None
    assert difference_reading(0.5, 0.01, 3, None, None, 3) is None
    reference = {"accuracy": 0.5, "auc": 0.7, "balanced_accuracy": 0.3}
    scores = {"accuracy": 0.6, "auc": float("nan"), "balanced_accuracy": 0.2}
    assert against_reference(scores, reference) == {
        "behind": ["balanced accuracy"], "tied": [], "within_noise": [], "ahead": ["accuracy"],
        "steady": [],
    }  # fmt: skip
    assert [row["label"] for row in no_better_than_reference(scores, reference)] == [
        "balanced accuracy"
    ]


def test_calibration_direction_counts_images_on_each_side_of_the_diagonal() -> None:
    bins = [
        {"low": 0.2, "high": 0.3, "count": 10, "confidence": 0.25, "accuracy": 0.4},
        {"low": 0.3, "high": 0.4, "count": 0, "confidence": None, "accuracy": None},
        {"low": 0.5, "high": 0.6, "count": 5, "confidence": 0.55, "accuracy": 0.55},
        {"low": 0.9, "high": 1.0, "count": 7, "confidence": 0.95, "accuracy": 0.8},
        {"low": 1.0, "high": 1.0, "count": 0, "confidence": None, "accuracy": None},
    ]
    direction = calibration_direction(bins)
    assert direction["under"] == 10 and direction["over"] == 7  # gaps of +0.15 and -0.15
    assert direction["close"] == 5  # the exact bin
    bins[0]["accuracy"] = 0.29  # +0.04: within the 0.05 margin
    assert calibration_direction(bins)["under"] == 0 and calibration_direction(bins)["close"] == 15
    assert direction["top_bin"] is bins[3]
    assert calibration_direction(bins[1:2])["top_bin"] is None


def test_an_official_files_notice_is_short_and_points_to_its_checksum() -> None:
    """On a phone the danger box and the data box fill the first screen: the official file's box
    names the data and its splits, and leaves the 32-digit MD5 to Reproducibility."""
    results = make_results(flag="retinamnist", official=True)
    pages = render_pages(results)
    notice = pages["training.md"].split('!!! info "Data: RetinaMNIST"')[1].split("\n\n")[0]
    assert "Every number reportgen computed for this page comes from **RetinaMNIST**" in notice
    assert "the official MedMNIST file `retinamnist.npz` ([checksum checked]" in notice
    assert results["dataset"]["md5"] not in notice
    assert results["dataset"]["md5"] in pages["reproducibility.md"].split("## Data")[1]


def test_the_retinamnist_dataset_page_says_validation_may_share_patients_with_training() -> None:
    retina = render_pages(make_results(flag="retinamnist", official=True))["dataset.md"]
    assert '!!! note "Validation may share patients with training"' in retina
    assert "dividing DeepDRiD's training set 9:1" in retina
    assert "four photographs of each patient, two of each eye" in retina
    url = sources.IMAGE_LISTS["retinamnist"]["url"]
    assert url.endswith("/regular_fundus_images")  # the lists themselves, not the front page
    deepdrid = f"[DeepDRiD's image lists]({escape_markdown(url)})"  # Markdown reads it as url
    assert deepdrid in retina  # the fact links to where it can be checked
    assert (
        "| Task | `ordinal-regression` in medmnist: 5 ordered grades, which the network" in retina
    )
    derma = render_pages(make_results())["dataset.md"]
    assert "Validation may share patients" not in derma  # DermaMNIST has its own leakage warning
    # Four photographs a patient: intervals that count images as independent are much too
    # narrow, where HAM10000's repeated lesions make them only somewhat so.
    results = render_pages(make_results(flag="retinamnist", official=True))["results.md"]
    assert results.count("too narrow, perhaps much: the test images come from about a") == 2
    assert f"both photographs of an eye carry its grade: see {deepdrid}), so it is" in results
    assert "somewhat too narrow" in render_pages(make_results())["results.md"]


@pytest.mark.parametrize("flag", ["dermamnist", "retinamnist"])
def test_facts_about_how_a_release_was_split_are_not_claimed_for_an_unofficial_file(
    flag: str,
) -> None:
    name = {"dermamnist": "DermaMNIST", "retinamnist": "RetinaMNIST"}[flag]
    caveat = f"That is how the official {name} release was made; whether it holds for the "
    for official in (True, False):
        pages = render_pages(make_results(flag=flag, official=official))
        if flag == "dermamnist":  # lesion leakage: a warning on three pages, a card limitation
            warned = {"dataset.md", "index.md", "results.md"}
            title = (
                "Test scores are optimistic: one lesion can be on both sides of the split"
                if official
                else "In the official DermaMNIST release, one lesion can be on both sides of"
            )
            assert {page_name for page_name, page in pages.items() if title in page} == warned
            limitation = "That is how the official DermaMNIST release was made, which makes test"
            assert (limitation in pages["model-card.md"]) is not official
            assert ("Test scores are therefore optimistic." in pages["model-card.md"]) is official
        else:  # patients shared between training and validation: Dataset and both cards
            said = {page_name for page_name, page in pages.items() if caveat in page}
            expected = {"dataset.md", "model-card.md", "data/model_card.md"}
            assert said == (set() if official else expected)
        # That its test images are not independent: Results (intervals, referral counts), cards.
        held = f"in the official {name.lower()} release they are not ("
        counts = {
            page_name: page.lower().count(held)
            for page_name, page in pages.items()
            if held in page.lower()
        }
        cards = {"model-card.md": 1, "data/model_card.md": 1}
        assert counts == ({} if official else {"results.md": 2, **cards})
        # Nor who the images come from, nor under which licence.
        source = f"That describes the source of the official {name} release; whether it holds"
        described = {page_name for page_name, page in pages.items() if source in page}
        assert described == (
            set() if official else set(cards) | ({"dataset.md"} if flag == "retinamnist" else set())
        )
        licence = "(the official release's; this file's is not known)"
        assert (licence in pages["dataset.md"]) is not official
        assert ("an unofficial file whose licence is not known" in pages["model-card.md"]) is (
            not official
        )


def _two_class_dataset() -> dict:
    """results.json's dataset entry for the two-class plans below: b is rare (10 of 100 training
    images, 2 of 20 test images), so it is the class the pages follow."""
    return {"flag": "pneumoniamnist", "class_names": ["a", "b"],
            "counts": {"train": [90, 10], "test": [18, 2]}}  # fmt: skip


def _home_page(view: dict) -> str:
    """The home page of make_results() beside an experiments view."""
    template = make_environment().get_template("index.md.j2")
    return template.render({**page_context(make_results()), "experiments": view})


def _plan_over_three_seeds(recommended: str, variants: list[dict]) -> dict:
    """experiments.json's frame around variants run with seeds 0, 1 and 2."""
    return {
        "recommended": recommended,
        "seeds": [0, 1, 2],
        "selection_metric": "mean validation balanced accuracy",
        "references": [],
        "variants": variants,
    }


def _variant_over_three_seeds(
    build: dict,
    name: str,
    config: dict,
    balanced: float,
    val: float,
    by_seed: tuple = (-1, 0, 1),
    scores: dict | None = None,
    sd: float = 0.01,
) -> dict:
    """experiments.json's entry of a variant of the build's settings (config: its overrides) run
    with seeds 0, 1 and 2 on _two_class_dataset: test accuracy 0.5, AUC 0.7, macro F1 0.3 and
    the balanced accuracy given (scores overrides any), each with this sd; each seed's test
    scores are the mean + 0.01 * by_seed[seed]."""
    metrics = {"accuracy": 0.5, "auc": 0.7, "balanced_accuracy": balanced, "macro_f1": 0.3}
    metrics.update(scores or {})
    return {
        "name": name,
        "description": "",
        "config": config,
        "steps": [],
        "mean": {**metrics, "per_class_recall": [0.9, 0.1]},
        "sd": {**dict.fromkeys(metrics, sd), "per_class_recall": [0.0, 0.0]},
        "val_mean": {"balanced_accuracy": val},
        "val_sd": {"balanced_accuracy": 0.01},
        "runs": [
            {
                "seed": seed,
                "test": {key: value + 0.01 * by_seed[seed] for key, value in metrics.items()},
                "confusion_matrix": [[9, 1], [9, 1]],
                "confusion_matrix_normalized": [[0.9, 0.1], [0.9, 0.1]],
                "history": [{"epoch": 1, "val_loss": 0.7, "val_auc": 0.6}],
                "train_seconds": 1.0,
                "config": {**build, **config, "seed": seed},  # as the runs trained
            }
            for seed in range(3)
        ],
    }


def test_a_bold_mean_is_said_to_be_the_highest_not_the_best_where_others_match_it() -> None:
    build = {"model": "study_cnn", "optimizer": "sgd", "lr": 0.01, "ensemble": 1, "epochs": 10}
    scores = {  # accuracy, AUC, balanced accuracy, macro F1; every sd 0.01 over 3 seeds
        "baseline": (0.50, 0.70, 0.30, 0.30),
        "a": (0.60, 0.75, 0.40, 0.30),
        "b": (0.595, 0.70, 0.39, 0.30),
        "c": (0.40, 0.745, 0.30, 0.31),
    }

    def plan(scores: dict[str, tuple], sds: dict[str, float] | None = None) -> dict:
        return _plan_over_three_seeds(
            "a",
            [
                _variant_over_three_seeds(
                    build, name, {} if name == "baseline" else {"lr": 0.02}, 0.0, 0.4,
                    scores=dict(zip(COMPARED_COLUMNS, values, strict=True)),
                    sd=(sds or {}).get(name, 0.01),
                )
                for name, values in scores.items()
            ],
        )  # fmt: skip

    def welch_p(mean: float, sd: float, other_mean: float, other_sd: float) -> float:
        return stats.ttest_ind_from_stats(
            mean, sd, 3, other_mean, other_sd, 3, equal_var=False
        ).pvalue

    def rivals_by_welch(
        scores: dict[str, tuple], sds: dict[str, float] | None = None
    ) -> dict[str, list[str]]:
        """Per column, the variants other than the highest mean (the first, if tied) that read
        the same to three decimals as one of the column's bold means (those alike to the
        highest), or that Welch's test cannot tell from one."""
        sd = {name: (sds or {}).get(name, 0.01) for name in scores}
        found = {}
        for k, column in enumerate(COMPARED_COLUMNS):
            top = max(scores, key=lambda name: scores[name][k])
            bold = [
                name for name in scores if round(scores[name][k], 3) == round(scores[top][k], 3)
            ]
            found[column] = [
                name
                for name, values in scores.items()
                if name != top
                and any(
                    name != lead
                    and (
                        round(values[k], 3) == round(scores[lead][k], 3)
                        or welch_p(values[k], sd[name], scores[lead][k], sd[lead]) >= 0.05
                    )
                    for lead in bold
                )
            ]
        return found

    assert rivals_by_welch(scores) == {
        "accuracy": ["b"], "auc": ["c"], "balanced_accuracy": ["b"],
        "macro_f1": ["baseline", "a", "b"],
    }  # fmt: skip
    bold_rivals = make_environment().get_template("_macros.md.j2").module.bold_rivals
    view = experiments_view(plan(scores), _two_class_dataset())
    assert view["best_rivals"] == [
        {"label": label, "count": len(names), "baseline": "baseline" in names}
        for label, names in zip(
            COMPARED_COLUMNS.values(), rivals_by_welch(scores).values(), strict=True
        )
    ]
    assert str(bold_rivals(view)) == (
        " A bold mean is the highest in its column, not proven the best: the mean of 1 other "
        "variant in accuracy, 1 in AUC, 1 in balanced accuracy and 3 in macro F1 cannot be told "
        "from a bold one (the same to three decimals, or within seed noise: Welch's t-test over "
        "the 3 seeds gives p ≥ 0.05), the baseline's among them in macro F1."
    )
    # A mean bold beside the highest, shown alike to three decimals, cannot be told from it
    # either; a column whose bold mean stands clear of the rest is named as such.
    scores["c"] = (0.6004, 0.70, 0.30, 0.31)
    view = experiments_view(plan(scores), _two_class_dataset())
    assert [row["cells"]["accuracy"]["best"] for row in view["rows"]] == [False, True, False, True]
    assert rivals_by_welch(scores)["accuracy"] == ["a", "b"]
    assert str(bold_rivals(view)) == (
        " A bold mean is the highest in its column, not proven the best: the means of 2 other "
        "variants in accuracy, 1 in balanced accuracy and 3 in macro F1 cannot be told from a "
        "bold one (the same to three decimals, or within seed noise: Welch's t-test over the 3 "
        "seeds gives p ≥ 0.05), the baseline's among them in macro F1; in AUC the bold mean "
        "stands clear of every other variant's."
    )
    # Means that tie exactly share the bold, and a variant within seed noise of either is in
    # contention, whichever of them counts as the lead: here c stands clear of a, whose runs
    # agree closely, but not of b, whose runs spread.
    tied = {
        "baseline": (0.50, 0.70, 0.30, 0.30),
        "a": (0.60, 0.75, 0.40, 0.30),
        "b": (0.60, 0.70, 0.35, 0.30),
        "c": (0.55, 0.70, 0.30, 0.40),
    }
    spreads = {"a": 0.001, "b": 0.05}
    assert welch_p(0.55, 0.01, 0.60, 0.001) < 0.05 <= welch_p(0.55, 0.01, 0.60, 0.05)
    assert "c" in rivals_by_welch(tied, spreads)["accuracy"]
    view = experiments_view(plan(tied, spreads), _two_class_dataset())
    assert [row["cells"]["accuracy"]["best"] for row in view["rows"]] == [False, True, True, False]
    assert view["best_rivals"] == [
        {"label": label, "count": len(names), "baseline": "baseline" in names}
        for label, names in zip(
            COMPARED_COLUMNS.values(), rivals_by_welch(tied, spreads).values(), strict=True
        )
    ]
    clear = {
        "baseline": (0.50, 0.70, 0.30, 0.30),
        "a": (0.60, 0.75, 0.40, 0.30),
        "b": (0.45, 0.70, 0.35, 0.30),
        "c": (0.40, 0.70, 0.30, 0.40),
    }
    assert rivals_by_welch(clear) == {column: [] for column in COMPARED_COLUMNS}
    view = experiments_view(plan(clear), _two_class_dataset())
    assert str(bold_rivals(view)) == (
        " Each bold mean stands clear of every other variant's in its column, beyond seed noise "
        "(Welch's t-test over the 3 seeds, p < 0.05)."
    )
    # One rival, the baseline, and several columns that stand clear.
    hand_made = {
        "seeds": [0, 1, 2],
        "best_rivals": [
            {"label": "accuracy", "count": 1, "baseline": True},
            {"label": "AUC", "count": 0, "baseline": False},
            {"label": "macro F1", "count": 0, "baseline": False},
        ],
    }
    assert str(bold_rivals(hand_made)) == (
        " A bold mean is the highest in its column, not proven the best: the mean of 1 other "
        "variant in accuracy cannot be told from a bold one (the same to three decimals, or "
        "within seed noise: Welch's t-test over the 3 seeds gives p ≥ 0.05), in accuracy that "
        "one is the baseline's; in AUC and macro F1 each bold mean stands clear of every other "
        "variant's."
    )
    # With one seed there is no spread to judge by: the page says so elsewhere, and not this.
    one_seed = plan(scores)
    one_seed["seeds"] = [0]
    for variant in one_seed["variants"]:
        variant["runs"] = variant["runs"][:1]
    view = experiments_view(one_seed, _two_class_dataset())
    assert view["best_rivals"] is None and str(bold_rivals(view)) == ""


def test_the_home_page_sets_an_ensemble_beside_its_single_network_version() -> None:
    build = {"model": "study_cnn", "optimizer": "sgd", "lr": 0.01, "ensemble": 1, "epochs": 10}

    def variant(
        name: str, balanced: float, val: float, config: dict, by_seed: tuple = (-1, 0, 1)
    ) -> dict:
        return _variant_over_three_seeds(build, name, config, balanced, val, by_seed)

    wide = {"model": "wide_cnn", "optimizer": "adamw"}
    experiments = _plan_over_three_seeds(
        "ensemble",
        [
            variant("baseline", 0.30, 0.35, {}),
            variant("ensemble", 0.40, 0.50, {**wide, "ensemble": 3}),
            variant("other-single", 0.40, 0.45, {"model": "wide_cnn"}),  # not the same recipe
            variant("single", 0.41, 0.44, wide, by_seed=(1, -1, 0)),
        ],
    )
    dataset = _two_class_dataset()
    view = experiments_view(experiments, dataset)
    single = view["single_network"]
    # Best in a column as the page shows it: 0.3857 and 0.3861 both read 0.386, both bold.
    experiments["variants"][2]["mean"]["accuracy"] = 0.5004
    tied = experiments_view(experiments, dataset)["rows"]
    assert [row["cells"]["accuracy"]["best"] for row in tied] == [True] * 4
    experiments["variants"][2]["mean"]["accuracy"] = 0.5006
    tied = experiments_view(experiments, dataset)["rows"]
    assert [row["cells"]["accuracy"]["best"] for row in tied] == [False, False, True, False]
    experiments["variants"][2]["mean"]["accuracy"] = 0.5
    assert single["row"]["name"] == "single" and single["share"] == "a third"
    assert single["lower"] == [] and single["judged"]
    # Images called b, and rightly so, are counted from each run's confusion matrix.
    cells = view["rows"][0]["cells"]
    assert (cells["focus_called"]["mean"], cells["focus_rightly"]["mean"]) == (2.0, 1.0)
    index = _home_page(view)
    assert (
        "\n\nThe recommended variant's single-network version, **[single](experiments.md#single)** "
        "(the same" in index
    )  # a paragraph of its own
    assert (
        "one network instead of 3: a third of the training; each run of the recommended variant"
        in index
    )
    assert "averages the network of single's run with the same seed and 2 more)" in index
    assert "none of them lower beyond seed noise over 3 seeds compared seed by seed" in index
    # Its balanced accuracy (0.41 against 0.40) is the higher, within noise: no gain shown.
    assert single["above"] == ["balanced accuracy"]
    assert (
        "(a paired t-test), and its balanced accuracy is even higher, within seed noise: "
        "averaging 3 networks shows no gain beyond seed noise here" in index
    )
    # A network is listed once, under the recommended variant where it trains it, and the other
    # variants that train it link there.
    with_models = copy.deepcopy(experiments)
    for entry in with_models["variants"]:
        entry["runs"][0]["model"] = {"name": entry["config"].get("model", "study_cnn")}

    def linked() -> list[dict | None]:
        return [row["same_network_as"] for row in experiments_view(with_models, dataset)["rows"]]

    to_ensemble = {"name": "ensemble", "slug": "ensemble", "networks": 3}
    assert linked() == [None, None, to_ensemble, to_ensemble]
    with_models["recommended"] = "baseline"  # else the first that trains it lists it
    assert linked() == [None, None, to_ensemble, to_ensemble]
    with_models["variants"][1]["runs"][0]["model"] = {"name": "another"}
    to_single = {"name": "other-single", "slug": "other-single", "networks": 1}
    assert linked() == [None, None, None, to_single]
    assert single["noise"] == ["accuracy", "AUC", "balanced accuracy", "macro F1"]
    # Lower beyond seed noise in balanced accuracy (0.30 against 0.40, sds 0.01) is said so.
    experiments["variants"][3] = variant("single", 0.30, 0.44, wide, by_seed=(1, -1, 0))
    view = experiments_view(experiments, dataset)
    assert view["single_network"]["lower"] == ["balanced accuracy"]
    assert (
        "macro F1 0.300, compared seed by seed (a paired t-test): lower beyond seed noise in "
        "balanced accuracy." in _home_page(view)
    )
    # Compared as independent samples, 0.41 against 0.40 with sds 0.01 would pass for noise too;
    # seed by seed, a difference that keeps its sign and size in every seed does not.
    experiments["variants"][3] = variant("single", 0.39, 0.44, wide, by_seed=(-1, 0, 1))
    experiments["variants"][1] = variant(
        "ensemble", 0.40, 0.50, {**wide, "ensemble": 3}, (-1.2, 0, 1.2)
    )
    paired = experiments_view(experiments, dataset)["single_network"]
    assert within_seed_noise(-0.01, 0.01, 3, 0.012, 3) is True
    assert paired["lower"] == ["balanced accuracy"] and paired["judged"]
    # A difference every seed gives alike has no spread to judge by, and is said so.
    experiments["variants"][1] = variant("ensemble", 0.40, 0.50, {**wide, "ensemble": 3})
    view = experiments_view(experiments, dataset)
    assert view["single_network"]["alike"] == ["balanced accuracy"]
    assert (
        "compared seed by seed (a paired t-test): balanced accuracy different by the same amount "
        "in every seed, which no test over seeds can judge." in _home_page(view)
    )
    # A single network better beyond seed noise is said so, not read as no difference.
    experiments["variants"][3] = variant("single", 0.45, 0.44, wide, by_seed=(1, -1, 0))
    view = experiments_view(experiments, dataset)
    assert view["single_network"]["higher"] == ["balanced accuracy"]
    assert view["single_network"]["lower"] == []
    assert (
        "(a paired t-test): higher beyond seed noise in balanced accuracy, where averaging 3 "
        "networks did not pay." in _home_page(view)
    )
    # A missing score (a NaN AUC) leaves its column unjudged, and the verdict names the others.
    experiments["variants"][3] = variant("single", 0.40, 0.44, wide, by_seed=(1, -1, 0))
    experiments["variants"][3]["runs"][1]["test"]["auc"] = float("nan")
    experiments["variants"][3]["mean"]["auc"] = float("nan")  # as mean_sd gives it
    view = experiments_view(experiments, dataset)
    assert view["single_network"]["judged"] and not view["single_network"]["all_judged"]
    assert (
        "; compared seed by seed (a paired t-test), its accuracy, balanced accuracy and macro F1 "
        "are not lower beyond seed noise over 3 seeds, and its AUC could not be compared (a score "
        "is missing)." in _home_page(view)
    )
    # A steady gap too small to show in the means (0.4003 against 0.4000) is no verdict.
    experiments["variants"][3] = variant("single", 0.4003, 0.44, wide, by_seed=(-1, 0, 1))
    experiments["variants"][1] = variant("ensemble", 0.40, 0.50, {**wide, "ensemble": 3})
    steady = experiments_view(experiments, dataset)["single_network"]
    assert steady["higher"] == [] and steady["alike"] == [] and steady["all_judged"]
    assert steady["above"] == []  # 0.400 against 0.400 as the pages show them
    assert "if averaging 3 networks helps here, the gain is too small" in _home_page(
        experiments_view(experiments, dataset)
    )
    # No pair without an ensemble, nor one that changes other settings too.
    experiments["variants"][3] = variant("single", 0.41, 0.44, {**wide, "lr": 0.1})
    assert experiments_view(experiments, dataset)["single_network"] is None
    experiments["recommended"] = "other-single"
    assert experiments_view(experiments, dataset)["single_network"] is None
    # A build run with --ensemble 3: the variant without an ensemble override trains 3 networks
    # too, so it is no single-network version.
    build["ensemble"] = 3
    experiments["recommended"] = "ensemble"
    experiments["variants"][3] = variant("single", 0.41, 0.44, wide)
    assert experiments_view(experiments, dataset)["single_network"] is None
    build["ensemble"] = 1
    # With one seed there is no noise to judge by: the scores are given, no verdict.
    experiments["recommended"] = "ensemble"
    experiments["variants"][3] = variant("single", 0.41, 0.44, wide)
    experiments["seeds"] = [0]
    for one in experiments["variants"]:
        one["runs"] = one["runs"][:1]
    view = experiments_view(experiments, dataset)
    assert not view["single_network"]["judged"]
    index = _home_page(view)
    assert "scored a test accuracy of" in index and "seed noise" not in index.split("single-")[1]


def _two_class_variant(name: str, accuracy: float, auc: float, balanced: float) -> dict:
    """A variant of a two-class plan over seeds 0-2, each run scoring its means; val balanced
    accuracy 0.5 for "better", else 0.4."""
    metrics = {"accuracy": accuracy, "auc": auc, "balanced_accuracy": balanced}
    return {
        "name": name,
        "description": "",
        "config": {},
        "steps": [],
        "mean": {**metrics, "macro_f1": 0.3, "per_class_recall": [0.9, 0.1]},
        "sd": {
            "accuracy": 0.02,
            "auc": 0.01,
            "balanced_accuracy": 0.005,
            "macro_f1": 0.0,
            "per_class_recall": [0.0, 0.0],
        },
        "val_mean": {"balanced_accuracy": 0.5 if name == "better" else 0.4},
        "val_sd": {"balanced_accuracy": 0.01},
        "runs": [
            {
                "seed": seed,
                "test": {**metrics, "per_class_recall": [0.9, 0.1]},
                "confusion_matrix": [[9, 1], [9, 1]],
                "confusion_matrix_normalized": [[0.9, 0.1], [0.9, 0.1]],
                "history": [{"epoch": 1, "val_loss": 0.7, "val_auc": 0.6}],
                "train_seconds": 1.0,
                "config": {"epochs": 10},
            }
            for seed in range(3)
        ],
    }


def test_next_steps_names_the_classes_a_variant_finds_less_often() -> None:
    """A step can buy the rarest class's recall with another class's: Next steps says so, with
    the same qualifiers as the line's other differences."""

    def four_class(name: str, recall: list[float], sd: list[float]) -> dict:
        variant = _two_class_variant(name, 0.5, 0.7, 0.4)
        variant["mean"]["per_class_recall"], variant["sd"]["per_class_recall"] = recall, sd
        for run in variant["runs"]:
            run["confusion_matrix"] = (8 * np.eye(4, dtype=int) + 1).tolist()
        return variant

    experiments = _plan_over_three_seeds(
        "better",
        [
            four_class("baseline", [0.80, 0.50, 0.40, 0.10], [0.01, 0.01, 0.01, 0.01]),
            # a: -0.08 with sds 0.05 (within noise); b: -0.30 with sds 0.01 (beyond); c: the same
            # to three decimals; d, the focus class, rises and is given anyway.
            four_class("better", [0.72, 0.20, 0.4004, 0.60], [0.05, 0.01, 0.01, 0.01]),
        ],
    )
    dataset = {"flag": "retinamnist", "class_names": ["a", "b", "c", "d"],
               "counts": {"train": [60, 30, 20, 10], "test": [20, 10, 8, 5]}}  # fmt: skip
    view = experiments_view(experiments, dataset)
    baseline, better = view["rows"]
    assert baseline["recall_falls"] == []
    falls = [(fall["name"], fall["reading"]) for fall in better["recall_falls"]]
    assert falls == [("b", "beyond"), ("a", "noise")]  # the larger fall first
    pages = page_context(make_results("retinamnist", class_names=["a", "b", "c", "d"]))
    template = make_environment().get_template("next-steps.md.j2")
    text = template.render({**pages, "experiments": view, "experiments_seeds": None})
    assert (
        "9 of them rightly; recall falls for *b* to 0.200 (-0.300) and for *a* to 0.720 (-0.080, "
        "within seed noise: 1.6 fewer of the 20 *a* images found per run, on average) — "
        "recommended."
    ) in text, text
    # A smaller fall that seed noise can explain is not named.
    experiments["variants"][1]["mean"]["per_class_recall"][0] = 0.76
    smaller = experiments_view(experiments, dataset)["rows"][1]["recall_falls"]
    assert [fall["name"] for fall in smaller] == ["b"]
    # Alike in every seed, a fall of one image in 20 is also given in images; past two classes,
    # the rest are counted.
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.75, 0.20, 0.30, 0.60]
    experiments["variants"][1]["sd"]["per_class_recall"][0] = 0.0
    experiments["variants"][0]["sd"]["per_class_recall"][0] = 0.0
    text = template.render(
        {**pages, "experiments": experiments_view(experiments, dataset), "experiments_seeds": None}
    )
    assert (
        "recall falls for *b* to 0.200 (-0.300) and for *c* to 0.300 (-0.100: 0.8 fewer of the 8 "
        "*c* images found per run, on average), and for 1 more class — recommended."
    ) in text, text
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.75, 0.20, 0.4, 0.60]
    text = template.render(
        {**pages, "experiments": experiments_view(experiments, dataset), "experiments_seeds": None}
    )
    assert (
        "and for *a* to 0.750 (-0.050, alike in every seed: 1 fewer of the 20 *a* images found)"
    ) in text, text
    # A variant that collapsed onto the largest class is said to have done so, not given a fall
    # per class.
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.97, 0.05, 0.02, 0.08]
    collapsed = experiments_view(experiments, dataset)["rows"][1]
    assert collapsed["collapsed_onto"] == "a" and collapsed["recall_falls"] == []


def test_a_variant_tied_on_validation_that_finds_the_focus_class_more_is_named() -> None:
    """What a near tie on validation leaves to weigh: the tied variant that finds the focus class
    more often on test, beyond seed noise, with how many images it calls so."""
    variants = [_two_class_variant(name, 0.5, 0.7, 0.3) for name in ("baseline", "better", "tied")]
    variants[2]["val_mean"]["balanced_accuracy"] = 0.495  # within better's sd (0.01) of 0.5
    variants[2]["mean"]["per_class_recall"] = [0.7, 0.5]
    variants[2]["sd"]["per_class_recall"] = [0.05, 0.05]
    for run in variants[2]["runs"]:
        run["confusion_matrix"] = [[13, 5], [1, 1]]  # 6 called b, 1 rightly
    experiments = _plan_over_three_seeds("better", variants)
    dataset = _two_class_dataset()
    view = experiments_view(experiments, dataset)
    leader = view["close_focus_leader"]
    assert leader["row"]["name"] == "tied" and (leader["mean"], leader["baseline"]) == (0.5, 0.1)
    index = _home_page(view)
    assert (
        "close to a tie there. Of them, [tied](experiments.md#tied) finds *b* more often on test, "
        "beyond seed noise: mean recall 0.500 against the recommended variant's 0.100, with on "
        "average 6 test images called *b*, 1 of them rightly (the test split has 2)."
    ) in index
    # Within seed noise (sds 0.3), or no more often, or not tied on validation: nothing to name.
    variants[2]["sd"]["per_class_recall"] = [0.05, 0.3]
    assert experiments_view(experiments, dataset)["close_focus_leader"] is None
    variants[2]["sd"]["per_class_recall"] = [0.05, 0.05]
    variants[2]["mean"]["per_class_recall"] = [0.7, 0.05]
    assert experiments_view(experiments, dataset)["close_focus_leader"] is None
    variants[2]["mean"]["per_class_recall"] = [0.7, 0.5]
    variants[2]["val_mean"]["balanced_accuracy"] = 0.45
    assert experiments_view(experiments, dataset)["close_focus_leader"] is None


def test_a_validation_lead_that_rounds_to_nothing_is_not_given_as_0_000() -> None:
    rows = [
        {"name": "better", "val_balanced_accuracy": 0.4664, "val_sd_balanced_accuracy": 0.01},
        {"name": "runner-up", "val_balanced_accuracy": 0.4659, "val_sd_balanced_accuracy": 0.01},
    ]
    margin = selection_margin(rows[0], rows)
    assert margin is not None and not margin["lead_shows"] and margin["thin"]
    rows[1]["val_balanced_accuracy"] = 0.4654  # 0.466 against 0.465
    assert selection_margin(rows[0], rows)["lead_shows"]  # type: ignore[index]
    # The page's words for each: test_the_dermamnist_page_quotes_the_issues_references_....


def test_the_recommended_variants_gains_within_seed_noise_are_named() -> None:
    experiments = _plan_over_three_seeds(
        "better",
        [
            _two_class_variant("baseline", 0.50, 0.70, 0.30),
            _two_class_variant("better", 0.51, 0.71, 0.40),
        ],
    )
    dataset = _two_class_dataset()
    view = experiments_view(experiments, dataset)
    # accuracy +0.01 (sds 0.02) and AUC +0.01 (sds 0.01): noise; balanced accuracy +0.10 with
    # sds 0.005 is not (p < 0.001), and b recall +0.000 is left out.
    assert view["recommended_within_noise"] == ["accuracy", "AUC"]
    assert view["recommended_alike"] == []  # b recall is the same: "no change"
    assert view["recommended_row"]["versus_baseline"]["focus_recall"]["reading"] == "same"
    # A headline number the recommended variant does not move at all is said so.
    assert view["recommended_same"] == ["b recall"]
    assert "Its b recall is the same as the baseline's, to three decimals." in _home_page(view)
    # b recall 0.6 in every run against 0.1 in every run of the baseline: no spread to judge by.
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.9, 0.6]
    alike = experiments_view(experiments, dataset)
    assert alike["recommended_alike"] == [
        {"label": "b recall", "images": "1 more of the 2 *b* images found"}
    ]
    index = _home_page(alike)
    assert (
        "Its b recall and the baseline's each came out the same in every seed, so no test over "
        "seeds can judge the difference (1 more of the 2 *b* images found)." in index
    )
    assert "Its recall falls for" not in index
    # Balanced accuracy +0.10 beyond seed noise is said with its direction; so is a loss.
    assert alike["recommended_beyond_noise"] == [{"label": "balanced accuracy", "higher": True}]
    assert (
        "Beyond seed noise (Welch's t-test over seeds, p < 0.05), its balanced accuracy is higher "
        "than the baseline's. The differences in accuracy and AUC are within seed noise" in index
    )
    assert "calling many images" not in index  # 2 images called b a run, where 2 are
    experiments["variants"][1]["mean"]["accuracy"] = 0.40  # sds 0.02: lower, beyond noise
    for run in experiments["variants"][1]["runs"]:
        run["confusion_matrix"] = [[14, 4], [1, 1]]  # 5 called b, 1 rightly, of 2 test images
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.5, 0.6]  # a: 0.9 -> 0.5
    worse = experiments_view(experiments, dataset)
    index = _home_page(worse)
    assert "its accuracy is lower and its balanced accuracy is higher than the baseline's." in index
    # The classes it finds less often than the baseline, as Next steps names them.
    assert worse["recommended_row"]["recall_falls"][0]["name"] == "a"
    assert "Its recall falls for *a* to 0.500 (-0.400, alike in every seed)." in index
    assert (
        "Its b recall comes from calling many images *b*: on average 5 test images called *b*, 1 of "
        "them rightly (the test split has 2)." in index
    )
    # Up to three close variants are each named; more, only the runner-up.
    for close, named in (
        (["a"], "1 other variant (the runner-up, a) scores"),
        (["a", "b"], "2 other variants (a and b, best first) score"),
        (["a", "b", "c", "d"], "4 other variants (the runner-up: a) score"),
    ):
        rows = [{"name": name} for name in close]
        worse["selection"] = {"close": rows, "runner_up": rows[0], "noise": 0.06, "thin": True,
                              "just_outside": []}  # fmt: skip
        index = _home_page(worse)
        assert f"\n\nOn validation, {named} within one standard deviation (0.060)" in index
    # One that reads as inside the spread but is not is named, with the digits that part them.
    edge = {"name": "e", "val_balanced_accuracy": 0.43989}
    worse["selection"].update(just_outside=[edge], bound=0.44004, digits=4)
    index = _home_page(worse)
    assert (
        "validation score over seeds (e at 0.4399 falls just outside: the bound is 0.4400), so "
        "the top variants are close to a tie there."
    ) in index
    experiments["variants"][1]["mean"]["accuracy"] = 0.51
    # Of two classes one of which is normal, the table follows the other, though it is commoner.
    chest = {**dataset, "class_names": ["normal", "pneumonia"],
             "counts": {"train": [10, 90], "test": [8, 12]}}  # fmt: skip
    assert experiments_view(experiments, chest)["focus_class"] == "pneumonia"
    assert experiments_view(experiments, dataset)["focus_class"] == "b"  # the rarest
    # Next steps says what each qualifier means, as Markdown (test_experiments: Experiments).
    two_classes = page_context(make_results("pneumoniamnist", class_names=["a", "b"]))
    text = (
        make_environment()
        .get_template("next-steps.md.j2")
        .render({**two_classes, "experiments": alike})
    )
    assert "A difference marked *within seed noise* could come from" in text
    assert "A difference marked *alike in every seed* came out the same in every run" in text
    assert "*No change*: the same as the baseline's, to three decimals." in text
    assert "b recall 0.600 (+0.500, alike in every seed: 1 more of the 2 *b* images found)" in text
    # Means that round alike read "no change", with no images beside it, even where 250 test
    # images of b make a 0.0004 difference 0.1 image per run.
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.9, 0.1004]
    many = {**dataset, "counts": {"train": [90, 10], "test": [18, 250]}}
    versus = experiments_view(experiments, many)["recommended_row"]["versus_baseline"]
    assert versus["focus_recall"]["reading"] == "same" and versus["focus_recall"]["images"] is None
    experiments["variants"][1]["mean"]["per_class_recall"] = [0.9, 0.1]
    experiments["recommended"] = "baseline"
    assert experiments_view(experiments, dataset)["recommended_within_noise"] == []
    # One seed: no spread, so neither a noise mark nor a validation sd (mean_sd's 0) to weigh by.
    experiments["recommended"] = "better"
    experiments["seeds"] = [0]
    for one in experiments["variants"]:
        one["runs"] = one["runs"][:1]
    # The b recall column is never bold: a variant can buy recall by calling more images b.
    assert not any(row["cells"]["focus_recall"]["best"] for row in view["rows"])
    assert any(row["cells"]["accuracy"]["best"] for row in view["rows"])
    # The baseline's means over seeds beside the colour reference, whose AUC it does not beat.
    reference = {"accuracy": 0.45, "auc": 0.70, "balanced_accuracy": 0.25}
    means = baseline_versus_reference(view, reference)
    assert means == {"accuracy": 0.50, "auc": 0.70, "balanced_accuracy": 0.30}
    assert no_better_than_reference(means, reference) == [
        {"label": "AUC", "network": 0.70, "reference": 0.70, "side": "tied", "steady": False}
    ]
    reference["auc"] = 0.69
    assert no_better_than_reference(means, reference) == []
    assert baseline_versus_reference(view, None) is None
    single = experiments_view(experiments, dataset)
    assert single["recommended_within_noise"] == []
    # Balanced accuracy 0.40 against 0.30, beyond noise over three seeds: with one, unjudged.
    assert single["recommended_beyond_noise"] == []
    assert [row["val_sd_balanced_accuracy"] for row in single["rows"]] == [None, None]
    assert single["selection"]["noise"] is None and not single["selection"]["thin"]
    # One seed: no sd anywhere (mean_sd's 0 would read as a certain score), no seed-mean reading.
    cells = [cell for row in single["rows"] for cell in row["cells"].values()]
    assert all(cell["sd"] is None for cell in cells) and single["one_seed"]
    assert single["seed_phrase"] == "one run, seed 0"
    assert baseline_versus_reference(single, reference) is None


def test_a_small_difference_in_the_focus_recall_is_also_said_in_images() -> None:
    assert image_difference(0.05, 20, "grade 4") == "1 more of the 20 *grade 4* images found"
    assert image_difference(-0.1, 20, "a") == "2 fewer of the 20 *a* images found"
    assert image_difference(1 / 15, 20, "a") == (
        "1.3 more of the 20 *a* images found per run, on average"  # seeds found 1, 1 and 2
    )
    assert image_difference(0.05, 20, "a", steady=False) == (
        "1 more of the 20 *a* images found per run, on average"  # e.g. 0, 1, 2 against 0, 0, 0
    )
    assert image_difference(0.0, 20, "a") is None  # no difference
    assert image_difference(0.15, 20, "a") is None  # 3 images: the recall says enough
    assert image_difference(0.05, 20, "a_b") == "1 more of the 20 *a\\_b* images found"


def test_the_imbalance_note_says_accuracy_flatters_only_when_it_does() -> None:
    """On PneumoniaMNIST a model can find the rarer class more often: accuracy below balanced."""
    results = make_results(flag="pneumoniamnist", official=True)
    results["test"]["accuracy"], results["test"]["balanced_accuracy"] = 0.752, 0.794
    pages = render_pages(results)
    for page in ("index.md", "results.md"):
        assert "why accuracy flatters" not in pages[page]
        assert "read accuracy beside balanced accuracy" in pages[page]
        assert "the model finds the less common class of the test split more often" in pages[page]
    assert "hides how the other class fares" in pages["dataset.md"]
    assert "Neither class has a recall below 0.10" in pages["index.md"]
    # The findings are written once, on the Overview; Results points to them.
    assert "Neither class has a recall" not in pages["results.md"]
    assert "written out once, under [Findings](index.md#findings)" in pages["results.md"]
    # One grey channel: the reference sees brightness, and the augmentation jitters it.
    assert "image's overall brightness and contrast alone" in pages["index.md"]
    assert "colour" not in pages["next-steps.md"]
    results["test"]["accuracy"] = 0.9
    assert "why accuracy flatters" in render_pages(results)["index.md"]
    # Equal as the pages show them: neither is called the lower, nor does accuracy flatter.
    results["test"]["accuracy"], results["test"]["balanced_accuracy"] = 0.8002, 0.7998
    page = render_pages(results)["index.md"]
    assert "Here the two are the same to three decimals, which does not say that every" in page
    assert "why accuracy flatters" not in page and "the lower of the two" not in page


def test_the_experiments_placeholder_gives_this_builds_command() -> None:
    results = make_results(flag="retinamnist", official=True)
    results["command"] = "reportgen build \\\n    --dataset retinamnist \\\n    --data-root ../data"
    page = render_pages(results)["experiments.md"]
    assert (
        "reportgen build \\\n    --dataset retinamnist \\\n    --data-root ../data \\\n"
        "    --experiments experiments.toml\n```" in page
    )


def test_auc_extremes_skip_classes_absent_from_test() -> None:
    test = {"per_class_auc": [0.7, float("nan"), 0.9, 0.6]}
    extremes = auc_extremes(test, ["a", "b", "c", "d"])
    assert extremes == {"low": {"name": "d", "auc": 0.6}, "high": {"name": "c", "auc": 0.9}}
    assert auc_extremes({"per_class_auc": [float("nan")]}, ["a"]) is None
    page = render_pages(make_results())["results.md"]
    assert "![One-vs-rest ROC curves: AUC from " in page  # the figure's text alternative


def test_every_page_describes_the_recipe_the_build_ran_not_the_studys() -> None:
    results = make_results(flag="retinamnist", official=True)
    results["model"]["name"] = "WideCNN"
    results["config"].update(
        model="wide_cnn",
        optimizer="adamw",
        lr=0.003,
        weight_decay=0.0001,
        select_epoch="val_auc",
        patience=5,
        threshold_tuning=True,
        augment=True,
        tta=True,
        ensemble=3,
    )
    results["selection"].update(selected_epoch=7, ensemble_seeds=[0, 1000, 2000])
    pages = render_pages(results)
    study_words = ["SGD", "Four 3×3 convolutions", "the weights after the last epoch"]
    for name in ("model-card.md", "data/model_card.md", "training.md", "model.md", "next-steps.md"):
        assert not [words for words in study_words if words in pages[name]], name
    assert (
        "With AdamW, learning rate 0.003, weight decay 0.0001 (this run" in pages["next-steps.md"]
    )
    # Reproducibility marks the settings this recipe leaves unused, and only those.
    settings = pages["reproducibility.md"].split("## Configuration")[1].split("## Data")[0]
    assert "| `momentum` | `0.0` (unused: only with `optimizer = sgd`) |" in settings
    assert "| `width` | `32` |" in settings
    assert settings.count("(unused: only with") == 2  # and effective_number_beta
    # A reused run may have been trained with other unused values (they share its cache key).
    results["cache"] = {"key": "0123456789abcdef0123", "reused": True}
    reused = render_pages(results)["reproducibility.md"]
    assert (
        "trained with this exact configuration (settings marked unused aside: they change "
        "nothing), data file and code version"
    ) in reused
    # A results.json from before a field existed marks nothing it cannot judge.
    assert unmet_needs({"width": 32}) == {}
    for card in (pages["model-card.md"], pages["data/model_card.md"]):
        assert "AdamW, learning rate 0.003, weight decay 0.0001" in card
        assert (
            "kept: the epoch with the best validation AUC: epoch 7, early stopping after 5" in card
        )
        assert (
            "| Decision rule | per-class offsets tuned on validation for balanced accuracy, "
            in card
        )
        assert "An ensemble of 3 such networks, trained alike with seeds 0, 1000, 2000" in card
        assert "A wider VGG-style network" in card
        assert (
            "Validation images are used only to monitor training (the curves), to choose the "
            "epoch whose weights are kept, to tune the per-class offsets of the decision rule"
        ) in card
        assert "One training run of 3 networks with one seed" in card
    assert "A wider VGG-style network" in pages["model.md"]
    assert "augmented (flips, rotations, affine, colour jitter)" in pages["training.md"]
    assert "No augmentation" not in pages["dataset.md"]
    assert "each batch is augmented" in pages["dataset.md"]
    assert "except test-time augmentation" in pages["dataset.md"]


def test_numbers_round_half_up_and_differences_agree_with_the_numbers_shown() -> None:
    assert fmt_number(211 / 400) == "0.528"  # 0.5275: the float alone would print 0.527
    assert fmt_number(1.285, 2) == "1.29" and fmt_number(0.125, 2) == "0.13"
    assert fmt_number(-0.0004) == "0.000" and fmt_number(None) == "n/a"
    assert fmt_percent(0.5275) == "52.8%" and fmt_percent(float("nan")) == "n/a"
    # AUC 0.72652 against 0.72046 shows as 0.727 and 0.720: the lead reads +0.007, not +0.006.
    assert fmt_difference(0.72652, 0.72046) == "+0.007"
    assert fmt_difference(0.307, 0.3395) == "-0.033"  # 0.307 - 0.340
    assert fmt_difference(0.5, 0.5) == "+0.000"
    nan = float("nan")  # the recall of a class with no test images
    assert fmt_difference(nan, 0.5) == "n/a" and fmt_number(nan) == "n/a"
    assert str(rounded(nan)) == "NaN" and rounded(nan) != rounded(0.5)


@pytest.mark.parametrize(
    ("accuracy", "balanced", "said"),
    [
        (0.70, 0.40, "is well above balanced accuracy (0.400)"),
        (0.45, 0.60, "is well below balanced accuracy (0.600)"),
        (0.50, 0.45, "are within 0.10 of each other"),
    ],
)
def test_findings_say_which_way_accuracy_and_balanced_accuracy_part(
    accuracy: float, balanced: float, said: str
) -> None:
    results = make_results()
    results["test"].update(accuracy=accuracy, balanced_accuracy=balanced)
    assert said in render_pages(results)["index.md"]


def test_calibration_opens_with_how_often_the_most_confident_answers_are_right() -> None:
    results = make_results()
    bins = results["test"]["calibration"]["bins"]
    top = [b for b in bins if b["count"]][-1]
    top.update(confidence=0.94, accuracy=0.83)
    page = render_pages(results)["results.md"].split("## Calibration")[1]
    assert page.startswith(
        f"\n\n**In short:** when the model is most confident (a probability of "
        f"{top['low']:.1f}–{top['high']:.1f} for its answer, "
    )
    # Then the bin holding the most images, whatever its confidence.
    most = max(bins, key=lambda b: b["count"])
    share = round(100 * most["count"] / sum(b["count"] for b in bins))
    assert (
        "it is right 83% of the time, at a mean confidence of 94%. The largest group, "
        f"{most['count']} images ({share}% of the test split), gets a probability of "
        f"{most['low']:.1f}–{most['high']:.1f} for its answer and is right "
        f"{round(100 * most['accuracy'])}% of the time. Read its"
    ) in page
    top["count"] = 10 * most["count"]  # the most confident bin is the largest: said once
    page = render_pages(results)["results.md"].split("## Calibration")[1]
    assert "The largest group" not in page
    top.update(accuracy=0.93)  # within the margin: no warning to read them as scores
    page = render_pages(results)["results.md"].split("## Calibration")[1]
    assert "at a mean confidence of 94%." in page and "Read its probabilities" not in page


def test_findings_say_what_a_grade_means_where_the_dataset_is_graded() -> None:
    retina = render_pages(make_results(flag="retinamnist", official=True))["index.md"]
    findings = retina.split("## Findings")[1]
    assert re.search(
        r"\*\*grade \d\*\* \((no apparent|mild|moderate|severe|proliferative)", findings
    )
    derma = render_pages(make_results())["index.md"].split("## Findings")[1]
    assert "retinopathy" not in derma


def test_a_best_found_class_the_model_answers_often_is_said_to_be_overcalled() -> None:
    results = make_results()
    test = results["test"]
    best = max(test["report"]["classes"], key=lambda row: row["recall"])
    k, support = best["index"], best["support"]
    matrix = np.asarray(test["confusion_matrix"])
    called = int(matrix[:, k].sum())
    page = render_pages(results)["index.md"]
    assert ("so much of that recall comes from giving the answer often" in page) == (
        called >= 2 * support
    )
    # Give class k twice its support in calls (moving images of other classes into column k).
    other = next(j for j in range(matrix.shape[0]) if j != k and matrix[j].sum() > 0)
    moved = max(0, 2 * support - called)
    assert matrix[other].sum() >= moved, "the fixture has too few images to move"
    for column in range(matrix.shape[1]):
        if column == k or moved == 0:
            continue
        taken = min(matrix[other, column], moved)
        matrix[other, column] -= taken
        matrix[other, k] += taken
        moved -= taken
    test["confusion_matrix"] = matrix.tolist()
    page = render_pages(results)["index.md"]
    name = results["dataset"]["class_names"][k]
    assert (
        f"The model calls {int(matrix[:, k].sum()):,} test images *{name}* where {support:,} are, "
        "so much of that recall comes from giving the answer often"
    ) in page


def test_the_model_card_says_it_is_not_the_recommended_variants_and_the_home_page_explains_terms() -> (
    None
):
    results = make_results(flag="retinamnist", official=True)
    home = render_pages(results)["index.md"]
    assert '??? info "How to read these pages: the words they use"' in home
    assert "**Epoch**: one pass of training over all the training images." in home
    assert "A difference *within seed noise* is one that retraining with other seeds" in home
    assert "**95% interval**: a range that, given how few test images there are" in home
    assert "which is its sensitivity for that class" in home
    card = render_pages(results)["model-card.md"]
    assert "This card is for the build's own run" not in card  # no experiments: nothing to confuse
    scope = make_environment().get_template("_card_scope.md.j2")
    baseline, wide = {"name": "baseline", "slug": "baseline"}, {"name": "wide", "slug": "wide"}
    experiments = {"recommended": "wide", "recommended_row": wide, "baseline": baseline}
    note = scope.render(experiments=experiments, config={"seed": 3})
    assert '!!! note "This card is for the build\'s own run"' in note
    assert "trained (seed 3)" in note and "[Experiments](experiments.md#wide), **wide**," in note
    experiments.update(recommended="baseline", recommended_row=baseline)
    assert scope.render(experiments=experiments, config={"seed": 3}).strip() == ""


def test_a_variants_charts_say_in_words_what_they_show() -> None:
    history = [
        {"epoch": 1, "val_loss": 1.0, "val_auc": 0.70},
        {"epoch": 2, "val_loss": float("nan"), "val_auc": float("nan")},  # a diverged epoch
        {"epoch": 3, "val_loss": 0.8, "val_auc": 0.75},
        {"epoch": 4, "val_loss": 0.9, "val_auc": 0.74},
    ]
    assert curves_reading(history) == {
        "lowest_loss": {"epoch": 3, "value": 0.8},
        "highest_auc": {"epoch": 3, "value": 0.75},
        "last": {
            "epoch": 4,
            "loss": 0.9,
            "auc": 0.74,
            "loss_reads_lowest": False,
            "auc_reads_highest": False,
        },
    }
    # As read back from experiments.json, where NaN is written null.
    from_json = [
        {**row, "val_loss": None, "val_auc": None} if row["epoch"] == 2 else row for row in history
    ]
    assert curves_reading(from_json) == curves_reading(history)
    # A last epoch within rounding of the best reads "the same", not a number equal to it.
    history[-1] |= {"val_loss": 0.8004, "val_auc": 0.7496}
    last = curves_reading(history)["last"]
    assert last["loss_reads_lowest"] and last["auc_reads_highest"]


def test_the_training_page_says_what_its_curves_show() -> None:
    def history(val: list[float], train: list[float]) -> list[dict]:
        return [
            {"epoch": i + 1, "val_loss": v, "train_loss": t}
            for i, (v, t) in enumerate(zip(val, train, strict=True))
        ]

    rising = training_reading(history([1.0, 0.8, 0.9, 1.0], [1.2, 0.9, 0.7, 0.5]))
    assert rising["trend"] == "rising" and rising["best_epoch"] == 2
    assert not rising["val_below_train"]
    falling = training_reading(history([1.2, 1.1, 1.0], [1.3, 1.2, 1.1]))
    assert falling["trend"] == "falling" and falling["val_below_train"]
    results = make_results()
    results["history"] = [
        {**row, "val_loss": 2.0 + 0.5 * row["epoch"]} for row in results["history"]
    ]  # validation loss rises from the first epoch on, above the training loss
    page = render_pages(results)["training.md"]
    first = results["history"][0]
    assert (
        f"**In short:** validation loss rose from its lowest, {fmt_number(first['val_loss'])} "
        "after epoch 1, to "
    ) in page
    assert "Validation loss ends below the training loss" not in page
    below = [{**row, "val_loss": row["train_loss"] - 0.1} for row in results["history"]]
    below_page = render_pages({**results, "history": below})["training.md"]
    assert "Validation loss ends below the training loss (" in below_page  # named, not "It"
    assert "This run keeps the last epoch's weights; choosing the epoch on validation" in page
    # Still coming down over the last epochs though the last one wiggled up: both are shown.
    losses = [1.6, 1.5, 1.4, 1.3, 1.2, 1.13, 1.112, 1.115, 1.084, 1.085]
    results["history"] = [
        {**results["history"][0], "epoch": epoch, "val_loss": loss}
        for epoch, loss in enumerate(losses, start=1)
    ]
    page = render_pages(results)["training.md"]
    assert (
        "validation loss was still coming down at the end (1.112 after epoch 7, 1.085 after "
        "epoch 10, near its lowest of 1.084 after epoch 9)"
    ) in page
    # The training loss measured unlike the validation loss, setting by setting.
    settings = {"augment": True, "label_smoothing": 0.1, "sampler": "balanced"}
    assert training_reading(results["history"], settings)["train_loss_unlike_val"] == [
        "on augmented images", "against smoothed labels", "on class-balanced batches",
    ]  # fmt: skip
    assert training_reading(results["history"], results["config"])["train_loss_unlike_val"] == []


def test_findings_say_when_the_network_ranks_below_the_colour_reference() -> None:
    results = make_results(flag="retinamnist", official=True)
    results["colour_reference"]["auc"] = results["test"]["auc"] + 0.002
    index = render_pages(results)["index.md"]
    finding = "- The network does worse on AUC than a logistic regression"
    assert finding in index
    assert f"(AUC {fmt_number(results['test']['auc'])} against " in index
    results["colour_reference"]["auc"] = results["test"]["auc"] - 0.01
    assert finding not in render_pages(results)["index.md"]


def test_the_marks_say_how_many_differences_chance_alone_leaves_unmarked() -> None:
    marks = make_environment().get_template("_macros.md.j2").module.marks
    experiments = {"one_seed": False, "seeds": [0, 1, 2], "compared": 15, "chance_passes": 0.75}
    text = str(marks(experiments))
    assert (
        "only less likely to be noise; and a column holds 15 comparisons with the baseline, so at "
        "1 in 20 each, chance alone would leave on average 0.75 of them unmarked, as if real, "
        "even if no variant changed anything."
    ) in text
    assert "comparisons with the baseline" not in str(marks({**experiments, "compared": 1}))


def test_empty_calibration_bins_are_explained() -> None:
    results = make_results(flag="retinamnist", official=True)  # 5 classes: top probability >= 0.2
    bins = results["test"]["calibration"]["bins"]
    for row in bins:
        if row["high"] <= 0.2 + 1e-9:
            row.update(count=0, confidence=None, accuracy=None)
    page = render_pages(results)["results.md"]
    assert "    | 0.1–0.2 | 0 | n/a | n/a |" in page
    assert (
        "    *n/a*: a bin without images has no mean confidence or accuracy. With 5 classes the "
        "most probable one always has a probability of at least 1/5, so no image can fall below "
        "0.20."
    ) in page
    bins[0].update(count=1, confidence=0.05, accuracy=0.0)  # the second sentence would be wrong
    page = render_pages(results)["results.md"]
    assert "a bin without images has no mean" in page and "With 5 classes" not in page
    for row in bins:
        if not row["count"]:
            row.update(count=1, confidence=(row["low"] + row["high"]) / 2, accuracy=0.0)
    assert "a bin without images" not in render_pages(results)["results.md"]


def test_validation_uses_name_what_the_variants_choose_on_validation() -> None:
    study = {"select_epoch": "last", "threshold_tuning": False}
    assert validation_uses(study, False, None) == (
        "Validation images are used only to monitor training (the curves)."
    )
    variants = [
        study,
        {"select_epoch": "val_auc", "threshold_tuning": False},
        {"select_epoch": "val_balanced_accuracy", "threshold_tuning": True},
    ]
    assert validation_uses(study, True, variants) == (
        "Validation images are used only to monitor training (the curves), to set the referral "
        "threshold on the Results page (and each run's on the Experiments page), to choose the "
        "recommended variant on the Experiments page and to choose the epoch kept by 2 variants "
        "and the decision offsets of 1 variant."
    )
    assert validation_uses(study, False, [study]).endswith(
        "to choose the recommended variant on the Experiments page."
    )


def test_counts_averaged_over_runs_keep_a_fraction_and_the_right_plural() -> None:
    assert fmt_mean_count(2.0) == "2" and fmt_mean_count(1 / 3) == "0.3"
    called = make_environment().get_template("_macros.md.j2").module.called
    experiments = {"focus_class": "c", "focus_test_images": 20}
    row = {"cells": {"focus_called": {"mean": 1.0}, "focus_rightly": {"mean": 1 / 3}}}
    text = str(called(row, experiments, with_total=False))
    assert text == "1 test image called *c*, 0.3 of them rightly"


def test_the_model_card_lists_the_test_images_dependence_and_the_validation_overlap() -> None:
    card = render_pages(make_results(flag="retinamnist", official=True))["model-card.md"]
    limitations = card.split("## Limitations")[1].split("## Ethical considerations")[0]
    assert "- **Test images are not independent.** DeepDRiD has four photographs" in limitations
    assert "are too narrow, perhaps much" in limitations
    assert "- **Validation may share patients with training.** MedMNIST made" in limitations
    derma = render_pages(make_results())["model-card.md"]
    assert "are somewhat too narrow" in derma and "Validation may share patients" not in derma


def test_the_retinamnist_pages_say_who_the_images_come_from() -> None:
    pages = render_pages(make_results(flag="retinamnist", official=True))
    who = "three diabetes screening projects in China"
    assert (
        f"**Who the images come from.** DeepDRiD's fundus photographs come from {who}"
        in (pages["dataset.md"])
    )
    ethics = pages["model-card.md"].split("## Ethical considerations")[1].split("## Citation")[0]
    assert (
        who in ethics and "[DeepDRiD's repository](https://github.com/deepdrdoc/DeepDRiD)" in ethics
    )
    derma = render_pages(make_results())
    assert "Who the images come from" not in derma["dataset.md"]
    assert "in Austria and Australia" in derma["model-card.md"]


def test_with_experiments_the_colour_finding_uses_the_recipes_mean_over_seeds() -> None:
    results = make_results()
    reference = results["colour_reference"]
    findings = make_environment().get_template("_findings.md.j2")
    over_seeds = {
        "accuracy": reference["accuracy"] + 0.05,
        "auc": reference["auc"] - 0.003,
        "balanced_accuracy": reference["balanced_accuracy"] + 0.05,
    }
    # Each seed within 0.001 of the mean: the AUC gap is steady, so beyond seed noise.
    by_seed = {metric: [mean - 0.001, mean, mean + 0.001] for metric, mean in over_seeds.items()}
    no_better = no_better_than_reference(over_seeds, reference, by_seed)
    assert [(entry["label"], entry["side"]) for entry in no_better] == [("AUC", "behind")]
    text = findings.render(
        {
            **page_context(results),
            "experiments": {"seeds": [0, 1, 2], "screening": None},
            "reference_over_seeds": over_seeds,
            "colour_no_better": no_better,
        }
    )
    assert (
        f"- The network does worse, beyond seed noise, on AUC than a logistic regression on "
        f"{reference['n_features']} numbers per image"
    ) in text
    assert (
        f"(AUC {fmt_number(over_seeds['auc'])} against {fmt_number(reference['auc'])}; the "
        "network's are the same recipe's means over 3 seeds, the regression's a single fit)."
    ) in text
    assert "does no better than a logistic" not in findings.render(
        {**page_context(results), "colour_no_better": []}
    )


def test_the_reasons_for_a_cnn_are_set_beside_a_network_no_better_than_the_colour_reference() -> (
    None
):
    """The study's reasons for convolutions (local texture and borders) beside a network that
    a logistic regression on each image's overall tone matches: the Model page says so."""
    results = make_results("pneumoniamnist")
    reference = results["colour_reference"]
    for metric in ("accuracy", "auc", "balanced_accuracy"):
        results["test"][metric] = reference[metric] - 0.01  # behind on all three
    model = make_environment().get_template("model.md.j2")
    page = model.render(page_context(results))
    assert (
        "On this data, though, the network does worse on accuracy, AUC and balanced accuracy "
        "than a logistic regression on each image's overall brightness and contrast alone "
        "([Overview](index.md#findings)): its scores give no evidence that it uses the local "
        "patterns convolutions look for."
    ) in page
    results["test"]["auc"] = reference["auc"]  # level on one, as rounded: no better there
    assert (
        "the network does worse on accuracy and balanced accuracy, and no better on AUC, than a "
        "logistic regression"
    ) in model.render(page_context(results))
    results["test"]["accuracy"] = reference["accuracy"] + 0.01  # ahead on one: no such claim
    assert "On this data, though" not in model.render(page_context(results))


def test_page_context_sets_the_colour_reference_beside_the_recipes_seed_means() -> None:
    """Seed 0 ahead on AUC by a hair, the recipe's mean over seeds behind: render.py sets the
    means beside the reference, Results gives both, and the findings and what the network learns
    beyond the reference are read from the means only."""
    results = make_results("pneumoniamnist")
    reference = results["colour_reference"]
    for metric in ("accuracy", "auc", "balanced_accuracy"):
        results["test"][metric] = reference[metric] + 0.02  # this run: ahead on all three
    means = {
        "accuracy": reference["accuracy"] + 0.02,
        "auc": reference["auc"] - 0.003,  # the recipe over seeds: behind on AUC
        "balanced_accuracy": reference["balanced_accuracy"] + 0.02,
    }
    baseline = _two_class_variant(
        "baseline", means["accuracy"], means["auc"], means["balanced_accuracy"]
    )
    for run, spread in zip(baseline["runs"], (-0.001, 0.0, 0.001), strict=True):
        run["test"] = {**run["test"], **{metric: means[metric] + spread for metric in means}}
    experiments = _plan_over_three_seeds(
        "better", [baseline, _two_class_variant("better", 0.51, 0.71, 0.40)]
    )
    context = page_context(results, experiments)
    assert context["reference_over_seeds"] == pytest.approx(means)
    assert context["colour_sides"] == {
        "behind": ["AUC"], "tied": [], "within_noise": [],
        "ahead": ["accuracy", "balanced accuracy"], "steady": [],
    }  # fmt: skip
    assert [entry["label"] for entry in context["colour_no_better"]] == ["AUC"]
    page = make_environment().get_template("results.md.j2").render(context)
    paragraph = page.split("**A simple reference.**")[1].split("\n")[0]
    assert "+0.020 AUC and +0.020 balanced accuracy in this run (seed 0)" in paragraph
    assert (
        "against the reference: its leads on accuracy and balanced accuracy, beyond seed noise, "
        "are what it learns beyond them; on AUC it falls short, beyond seed noise, of what those"
    ) in paragraph
    assert "its lead on accuracy, AUC" not in paragraph
    # Without experiments, this run's scores decide: ahead on all three.
    alone = page_context(results)
    assert alone["reference_over_seeds"] is None and alone["colour_sides"]["ahead"] == [
        "accuracy", "AUC", "balanced accuracy",
    ]  # fmt: skip


def test_reproducibility_says_how_the_pages_round_with_examples_that_hold() -> None:
    """A reviewer recomputing a number with Python's format gets another last digit for a
    float just below a 5; the page says how it rounds, and its examples are what the code
    does."""
    page = render_pages(make_results())["reproducibility.md"]
    assert (
        "the pages round a number half up from its shortest decimal form, as by hand (211/400 = "
        '0.5275 reads 0.528, where Python\'s `f"{0.5275:.3f}"` prints 0.527'
    ) in page
    assert "(0.7265 and 0.7204 read 0.727 and 0.720, 0.007 apart, though their unrounded" in page
    assert fmt_number(211 / 400) == "0.528" and f"{0.5275:.3f}" == "0.527"
    assert (fmt_number(0.7265), fmt_number(0.7204)) == ("0.727", "0.720")
    assert fmt_difference(0.7265, 0.7204) == "+0.007" and f"{0.7265 - 0.7204:.3f}" == "0.006"


def _context_with_recipe_gaps_to_the_colour_reference(gaps: dict[str, list[float]]) -> dict:
    """page_context of a two-class build whose experiments' baseline (the study's recipe, seeds
    0-2) scored the colour reference's scores plus each metric's gap of each seed."""
    results = make_results("pneumoniamnist")
    reference = results["colour_reference"]
    baseline = _two_class_variant("baseline", 0.5, 0.7, 0.3)
    for metric, metric_gaps in gaps.items():
        baseline["mean"][metric] = reference[metric] + sum(metric_gaps) / 3
        for run, gap in zip(baseline["runs"], metric_gaps, strict=True):
            run["test"][metric] = reference[metric] + gap
    return page_context(
        results,
        _plan_over_three_seeds(
            "better", [baseline, _two_class_variant("better", 0.51, 0.71, 0.40)]
        ),
    )


def _colour_reference_paragraph(context: dict) -> str:
    """The Results page's paragraph on the colour reference."""
    page = make_environment().get_template("results.md.j2").render(context)
    return page.split("**A simple reference.**")[1].split("\n")[0]


def test_a_gap_to_the_colour_reference_within_seed_noise_is_not_called_a_lead() -> None:
    """The recipe's seeds: ahead on accuracy and behind on AUC by less than their spread,
    ahead on balanced accuracy in every seed by about the same margin."""
    context = _context_with_recipe_gaps_to_the_colour_reference(
        {
            "accuracy": [0.035, 0.0, 0.013],  # mean +0.016, sd 0.018: t-test p = 0.26
            "auc": [-0.02, 0.01, 0.001],  # mean -0.003
            "balanced_accuracy": [0.05, 0.052, 0.048],  # +0.05 in every seed, give or take 0.002
        }
    )
    assert context["colour_sides"] == {
        "behind": [], "tied": [], "within_noise": ["accuracy", "AUC"],
        "ahead": ["balanced accuracy"], "steady": [],
    }  # fmt: skip
    assert [entry["label"] for entry in context["colour_no_better"]] == ["accuracy", "AUC"]
    paragraph = _colour_reference_paragraph(context)
    assert (
        "against the reference: its lead on balanced accuracy, beyond seed noise, is what it "
        "learns beyond them; on accuracy and AUC the gap is within seed noise (a t-test of the 3 "
        "seeds' gaps, p ≥ 0.05), so these seeds do not show the network doing better."
    ) in paragraph
    findings = make_environment().get_template("_findings.md.j2").render(context)
    assert (
        "- The network does no better on accuracy and AUC (within seed noise) than a logistic "
        "regression"
    ) in findings
    assert (
        "the regression's a single fit). Its lead on balanced accuracy, beyond seed noise, is "
        "what it learns beyond those numbers.\n"
    ) in findings


def test_a_gap_to_the_colour_reference_the_same_in_every_seed_is_not_said_to_be_tested() -> None:
    """Every seed of the recipe scored the same (as a network that always gives one answer
    does): no t-test can run on its gaps to the colour reference, so the pages say the gap held
    by the same margin in every seed, not that it is beyond seed noise."""
    gaps = {
        "accuracy": [0.02, 0.02, 0.02],  # ahead by the same margin in every seed
        "auc": [-0.021, -0.019, -0.02],  # behind, with spread: a t-test runs (p < 0.001)
        "balanced_accuracy": [-0.04, -0.04, -0.04],  # behind by the same margin in every seed
    }
    assert stats.ttest_1samp(gaps["auc"], 0.0).pvalue < 0.001
    context = _context_with_recipe_gaps_to_the_colour_reference(gaps)
    assert context["colour_sides"] == {
        "behind": ["AUC", "balanced accuracy"], "tied": [], "within_noise": [],
        "ahead": ["accuracy"], "steady": ["accuracy", "balanced accuracy"],
    }  # fmt: skip
    assert [(entry["label"], entry["steady"]) for entry in context["colour_no_better"]] == [
        ("AUC", False),
        ("balanced accuracy", True),
    ]
    assert (
        "against the reference: its lead on accuracy, by the same margin in every seed, is what "
        "it learns beyond them; on AUC and balanced accuracy it falls short, beyond seed noise on "
        "AUC and by the same margin in every seed on balanced accuracy, of what those"
    ) in _colour_reference_paragraph(context)
    findings = make_environment().get_template("_findings.md.j2")
    assert (
        "- The network does worse, beyond seed noise on AUC and by the same margin in every seed "
        "on balanced accuracy, on AUC and balanced accuracy than a logistic regression"
    ) in findings.render(context)
    steady_auc = _context_with_recipe_gaps_to_the_colour_reference(
        {**gaps, "auc": [-0.02, -0.02, -0.02]}
    )
    assert (
        "- The network does worse, by the same margin in every seed, on AUC and balanced "
        "accuracy than a logistic regression"
    ) in findings.render(steady_auc)


def test_a_network_behind_the_colour_reference_is_not_said_to_lead_it() -> None:
    results = make_results()
    reference = results["colour_reference"]
    for metric in ("accuracy", "auc", "balanced_accuracy"):
        results["test"][metric] = reference[metric] - 0.05
    context = page_context(results)
    assert context["colour_sides"] == {
        "behind": ["accuracy", "AUC", "balanced accuracy"], "tied": [], "within_noise": [],
        "ahead": [], "steady": [],
    }  # fmt: skip
    page = render_pages(results)["results.md"]
    assert (
        "balanced accuracy: on accuracy, AUC and balanced accuracy it falls short of what those"
        in page
    )
    assert "lead" not in page.split("**A simple reference.**")[1].split("\n")[0]
    home = render_pages(results)["index.md"]
    # Lower on all three: worse, not merely no better.
    assert "- The network does worse on accuracy, AUC and balanced accuracy than" in home
    # Ahead on AUC, level on accuracy (as rounded), behind on balanced accuracy.
    results["test"]["auc"] = reference["auc"] + 0.05
    results["test"]["accuracy"] = reference["accuracy"] + 0.0001
    page = render_pages(results)["results.md"]
    home = render_pages(results)["index.md"]
    assert (
        "- The network does worse on balanced accuracy, and no better on accuracy, than a "
        "logistic regression"
    ) in home
    # Its lead, from this one run (no experiments): not qualified by seed noise.
    assert (
        f"against {fmt_number(reference['accuracy'])}). Its lead on AUC is what it learns beyond "
        "those numbers.\n"
    ) in home
    # The values in the order the sentence names them.
    tested = results["test"]
    assert (
        f"(balanced accuracy {fmt_number(tested['balanced_accuracy'])} against "
        f"{fmt_number(reference['balanced_accuracy'])}; accuracy {fmt_number(tested['accuracy'])} "
        f"against {fmt_number(reference['accuracy'])})."
    ) in home
    assert (
        "balanced accuracy: its lead on AUC is what it learns beyond them; on accuracy it does "
        "no better than them; on balanced accuracy it falls short of what those"
    ) in page


def test_templates_changed_since_an_earlier_render_render_as_they_are_now() -> None:
    """Compiled templates are kept between renders in one process; a template whose source
    differs (edited while a build trained, or another templates folder) is compiled again."""
    results = make_results()
    shipped = read_templates()
    before = render_pages(results, templates=shipped)["index.md"]
    edited = dict(shipped.sources)
    edited["index.md.j2"] = "Edited: {{ dataset.name }}\n" + edited["index.md.j2"]
    after = render_pages(results, templates=Templates(edited, shipped.static_files))["index.md"]
    assert after == f"Edited: {results['dataset']['name']}\n" + before
    # ...and the shipped source, rendered again, reads as it did.
    assert render_pages(results, templates=shipped)["index.md"] == before


def test_a_second_render_compiles_nothing_and_each_environment_gets_its_own_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compiled code is reused between renders; code compiled for one environment never serves
    another whose filters are called differently (a MkDocs plugin may swap one), though the
    template's name and source are the same."""
    import jinja2

    from reportgen.compiled_templates import CompiledInMemory

    compiled: list[str] = []
    real_compile = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: Any = None, *a: Any, **k: Any) -> Any:
        compiled.append(name)
        return real_compile(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    results = make_results()
    shipped = read_templates()
    sources = dict(shipped.sources)
    sources["index.md.j2"] += "\n<!-- a source no earlier test rendered -->\n"
    templates = Templates(sources, shipped.static_files)
    render_pages(results, templates=templates)
    assert "index.md.j2" in compiled
    compiled.clear()
    render_pages(results, templates=templates)
    assert compiled == []

    cache = CompiledInMemory()

    def rendered(shout: Any) -> str:
        environment = jinja2.Environment(
            loader=jinja2.DictLoader({"page": "{{ 'quiet' | shout }}"}), bytecode_cache=cache
        )
        environment.filters["shout"] = shout
        return environment.get_template("page").render(mark="!")

    assert rendered(lambda text: text.upper()) == "QUIET"
    # Given the context first: code compiled for the plain filter would pass it the text only.
    assert rendered(jinja2.pass_context(lambda context, text: text + context["mark"])) == "quiet!"
    assert rendered(lambda text: text.upper()) == "QUIET"  # and the first's code still serves it


@pytest.mark.parametrize("flag", ["dermamnist", "retinamnist"])
def test_every_figure_of_the_build_has_a_caption(flag: str) -> None:
    """The alt text is for screen readers; the caption says what the figure shows to everyone."""
    for name, text in render_pages(make_results(flag=flag, official=True)).items():
        lines = text.splitlines()
        for number, line in enumerate(lines):
            if line.lstrip().startswith("!["):
                assert lines[number + 1].strip() == "/// caption", (name, line[:80])


def test_a_still_falling_loss_points_to_the_variant_that_trained_longer() -> None:
    def row(name: str, config: dict, epochs: int = 10, kept: tuple = (10, 10, 10)) -> dict:
        return {
            "name": name,
            "slug": name,
            "config": config,
            "first_run": {"config": {"epochs": 10, **config}},
            "epochs_by_run": [{"trained": epochs, "kept": epoch} for epoch in kept],
        }

    baseline = row("baseline", {})
    settings = {"epochs": 20, "select_epoch": "val_auc", "patience": 5}
    # As on RetinaMNIST: one run stopped early at epoch 9 and kept epoch 4, two ran all 20.
    longer = row("best-epoch", settings, 20, kept=(4, 20, 20))
    longer["epochs_by_run"][0]["trained"] = 9
    found = longer_training([baseline, longer])
    assert found is not None and found["row"] is longer and found["selects"]
    assert found["trained"] == {"low": 9, "high": 20} and found["kept"] == {"low": 4, "high": 20}
    assert found["past_base"] and found["base_epochs"] == 10
    # More epochs with anything else changed, or no more epochs, is not that test.
    assert longer_training([baseline, row("wide", {"epochs": 20, "lr": 0.003}, 20)]) is None
    assert longer_training([baseline, row("short", {"epochs": 5}, 5)]) is None
    assert longer_training([baseline, row("keep-best", {"select_epoch": "val_auc"})]) is None
    results = make_results()
    for epoch, row_of_history in enumerate(results["history"]):  # falling to the last epoch
        row_of_history["val_loss"] = 2.0 - 0.1 * epoch
    longer.update(
        cells={"balanced_accuracy": {"mean": 0.307}},
        versus_baseline={
            "balanced_accuracy": {
                "mean": 0.307,
                "baseline": 0.343,
                "reading": "noise",
                "images": None,
            }
        },
    )
    experiments = {
        "one_seed": False,
        "baseline": {"cells": {"balanced_accuracy": {"mean": 0.343}}},
        "longer_training": found,
    }
    template = make_environment().get_template("training.md.j2")

    def training_page() -> str:
        return template.render({**page_context(results), "experiments": experiments})

    page = training_page()
    assert "so the network may be under-trained: more epochs might help. The variant " in page
    assert (
        "[best-epoch](experiments.md#best-epoch) tries that: the same recipe for up to 20 epochs, "
        "keeping the epoch with the best validation score; its runs trained 9 to 20 epochs and "
        "kept epochs 4 to 20. Its mean test balanced accuracy is 0.307, against 0.343 for this "
        "recipe over the same seeds (-0.036, within seed noise; [what the marks mean]"
        "(experiments.md#variants))."
    ) in page
    # Runs that stopped early and kept no epoch past the recipe's 10 test no more epochs.
    stopped_early = row("best-epoch", settings, 12, kept=(6, 8, 10))
    stopped_early.update(cells=longer["cells"], versus_baseline=longer["versus_baseline"])
    experiments["longer_training"] = longer_training([baseline, stopped_early])
    assert "kept epochs 6 to 10" in training_page()
    assert (
        "but no run of it kept an epoch past this recipe's 10, so it does not show what more "
        "epochs buy."
    ) in training_page()
    experiments["longer_training"] = None
    page = training_page()
    assert "more epochs might help." in page and "tries that" not in page


def test_the_study_comparison_says_when_it_cannot_compare_and_what_the_run_changed() -> None:
    official = make_results(official=True)
    official["config"]["epochs"] = 10  # the study's recipe exactly (the fixture trains 3)
    page = render_pages(official)["index.md"]
    section = page.split("## The study vs this run")[1].split("## Findings")[0]
    assert "cannot be compared" not in section and "changed the study's recipe" not in section
    assert "| | Study | This run |" in section
    # The study's prevalence column beside this run's share of each class in its training split.
    train = official["dataset"]["counts"]["train"]
    melanoma = next(line for line in section.splitlines() if line.startswith("| melanoma |"))
    assert melanoma.endswith(f" | 11.12 / {100 * train[4] / sum(train):.2f} |"), melanoma
    unofficial = render_pages(make_results())["index.md"]
    assert "**They cannot be compared:** this run's data is an unofficial file" in unofficial
    assert "| | Study | This run (unofficial file) |" in unofficial
    # The objective names the data the numbers describe.
    assert "tell apart the 7 classes of **DermaMNIST** (" in page
    assert "tell apart the 7 classes of **the unofficial file dermamnist.npz** (" in unofficial
    # Differences that cannot be compared are not put down to the changed settings either.
    assert "This run also changed the study's recipe: `epochs = 3`.\n\n| | Study |" in unofficial
    # Settings that change the recipe are named; the seed, the device and a setting that
    # changes nothing here (the wide network's width with the study's network) are not.
    official["config"].update(epochs=3, lr=0.05, seed=7, device="cpu", width=64)
    assert recipe_changes(official["config"]) == {"epochs": 3, "lr": 0.05}
    page = render_pages(official)["index.md"]
    assert (
        "This run also changed the study's recipe: `epochs = 3`, `lr = 0.05`; differences below "
        "may come from those.\n\n| | Study |"
    ) in page


def test_an_unofficial_files_model_card_offers_no_baseline_and_files_apart_on_the_hub() -> None:
    official = render_pages(make_results(official=True))
    unofficial = render_pages(make_results())
    baseline = "- A baseline to compare other models on DermaMNIST with"
    assert baseline in official["model-card.md"] and baseline not in unofficial["model-card.md"]
    assert (
        "- Not a baseline for DermaMNIST: this model was trained and tested on an unofficial"
        in (unofficial["model-card.md"])
    )
    assert "when you use these numbers" in official["model-card.md"]
    assert "when you use these numbers" not in unofficial["model-card.md"]
    assert "when you use these numbers" in official["dataset.md"]
    assert "are not DermaMNIST results" in unofficial["dataset.md"]
    hub_official = official["data/model_card.md"].split("---")[1]
    hub_unofficial = unofficial["data/model_card.md"].split("---")[1]
    assert "type: dermamnist\n" in hub_official and "unofficial-data" not in hub_official
    assert (
        "type: unofficial-dermamnist\n" in hub_unofficial
        and "- unofficial-data\n" in hub_unofficial
    )
    # Nor is it listed under the dataset's tag.
    assert "\n- dermamnist\n" in hub_official and "\n- dermamnist\n" not in hub_unofficial


def test_classes_found_as_often_as_the_best_found_one_are_named_with_it() -> None:
    results = make_results(official=True)
    classes = results["test"]["report"]["classes"]
    best = max(classes, key=lambda row: row["recall"])
    page = render_pages(results)["index.md"]
    assert f"- The best-found class is **{best['name']}**" in page
    assert "found as often (recall" not in page
    others = [row for row in classes if row is not best][:2]
    assert fmt_number(best["recall"] - 0.001, 2) == fmt_number(best["recall"], 2)  # a tie as shown
    for row in others:
        row["recall"] = best["recall"] - 0.001  # the same to two decimals, a hair lower
    page = render_pages(results)["index.md"]
    tie = f"are found as often (recall {fmt_number(best['recall'], 2)} each)."
    assert (
        f"*{others[0]['name']}* and *{others[1]['name']}* {tie}" in page
        or f"*{others[1]['name']}* and *{others[0]['name']}* {tie}" in page
    )
    # The least-found class is never also called as often found as the best (two classes).
    two = make_results("pneumoniamnist", class_names=["a", "b"], official=True)
    for row, recall in zip(two["test"]["report"]["classes"], (0.851, 0.854), strict=True):
        row["recall"] = recall
    page = render_pages(two)["index.md"]
    assert "The least-found class is **a**" in page and "found as often" not in page


def test_thresholds_and_trade_offs_say_which_way_the_accuracy_gap_runs() -> None:
    """The study's steps answer accuracy above balanced accuracy (the common class found far
    more often). Where the gap runs the other way (PneumoniaMNIST: the less common class found
    more often), the pages say so instead of calling balanced accuracy the number to raise."""
    results = make_results()  # accuracy 0.765, balanced accuracy 0.712
    pages = render_pages(results)
    thresholds = pages["next-steps.md"].split("## 3. ")[1].split("\n## ")[0]
    assert (
        "In this run (seed 0), balanced accuracy is 0.712 against an accuracy of 0.765: balanced "
        "accuracy is the number such tuning should raise.\n"
    ) in thresholds
    share = results["dataset"]["counts"]["test"][5] / sum(results["dataset"]["counts"]["test"])
    assert (
        "Accuracy counts every test image alike, so a common class weighs more in it (*melanocytic nevi*, the "
        f"training split's most common class, is {fmt_percent(share)} of the test images); "
        "balanced accuracy weighs each class alike. The [next steps](next-steps.md) are what the "
        "study proposed against that gap.\n"
    ) in pages["tradeoffs.md"]
    results["test"]["accuracy"] = 0.65  # now below balanced accuracy
    pages = render_pages(results)
    assert (
        "balanced accuracy is 0.712 against an accuracy of 0.650: here the model's recall is "
        "already, on the whole, higher on the less common classes of the test split, so the "
        "tuning can lower the bar for common classes instead.\n"
    ) in pages["next-steps.md"]
    assert "such tuning should raise" not in pages["next-steps.md"]
    assert (
        "Here the gap runs the other way, as the model's recall is, on the whole, higher on the "
        "less common classes of the test split: the study proposed its [next steps](next-steps.md) against the opposite gap, a model that "
        "found the common class far more often than the rare ones.\n"
    ) in pages["tradeoffs.md"]
    two = make_results("pneumoniamnist", official=True)  # normal 6, pneumonia 10 test images
    two["test"]["accuracy"], two["test"]["balanced_accuracy"] = 0.75, 0.79
    pages = render_pages(two)
    assert (
        "here the less common class of the test split is already found more often than the "
        "common one, so the tuning can lower the bar for the common class instead.\n"
    ) in pages["next-steps.md"]
    assert (
        "so a common class weighs more in it (*pneumonia*, the training split's most common "
        "class, is 62.5% of the test images); balanced accuracy weighs each class alike. Here the "
        "gap runs the other way, as the less common class of the test split is found more often "
        "than the common one:"
    ) in pages["tradeoffs.md"]
    results["test"]["accuracy"] = 0.7124  # the same as balanced accuracy, as the pages round
    pages = render_pages(results)
    assert "against an accuracy of 0.712.\n" in pages["next-steps.md"]
    assert (
        "The study proposed its [next steps](next-steps.md) against a gap between the two"
        in (pages["tradeoffs.md"])
    )


def test_a_normal_versus_finding_set_reads_as_a_test_with_sensitivity_and_specificity() -> None:
    """PneumoniaMNIST's two classes, one of them normal: Results gives the clinician's words
    for the per-class table (sensitivity, specificity, predictive values), recomputed here with
    scikit-learn and scipy's exact binomial interval."""
    results = make_results("pneumoniamnist", official=True)
    labels = np.array([0] * 40 + [1] * 60)
    predicted = np.array([0] * 36 + [1] * 4 + [0] * 18 + [1] * 42)
    names = results["dataset"]["class_names"]
    results["test"] = summarize_test(labels, np.eye(2)[predicted] * 0.8 + 0.1, names)
    pages = render_pages(results)
    page = pages["results.md"]
    paragraph = page.split("**As a test for *pneumonia*.** ")[1].split("\n")[0]
    # The model card says it too, in short.
    assert (
        "Read as a test for *pneumonia* (the two classes' recalls above): sensitivity "
        f"{fmt_number(42 / 60, 2)} (95% interval"
    ) in pages["model-card.md"]
    # Two classes have one AUC, which the glossary says, not a mean over classes.
    assert (
        "than a random image of the other class (0.5 is guessing, 1 is perfect); with two" in page
    )
    assert "the mean over classes" not in page
    sensitivity = recall_score(labels, predicted, pos_label=1)  # 42 / 60
    specificity = recall_score(labels, predicted, pos_label=0)  # 36 / 40
    interval = stats.binomtest(42, 60).proportion_ci()
    assert (
        "With two classes, one of them *normal*, the table reads as a test for *pneumonia*: its "
        f"sensitivity is the *pneumonia* recall, {fmt_number(sensitivity, 2)} (95% interval "
        f"{fmt_number(interval.low, 2)}–{fmt_number(interval.high, 2)}), and its specificity the "
        f"*normal* recall, {fmt_number(specificity, 2)} ("
    ) in paragraph
    assert (
        f"a share of {fmt_number(precision_score(labels, predicted, pos_label=1), 2)} are "
        "*pneumonia* (positive predictive value), and of those it calls *normal*, "
        f"{fmt_number(precision_score(labels, predicted, pos_label=0), 2)} are *normal* "
        "(negative predictive value). These two depend on the share of *pneumonia* images, "
        "60.0% of this test split:"
    ) in paragraph
    # A model that never calls one class has no precision for it: no predictive values.
    results["test"] = summarize_test(labels, np.eye(2)[np.ones(100, int)] * 0.8 + 0.1, names)
    paragraph = render_pages(results)["results.md"].split("**As a test for *pneumonia*.** ")[1]
    assert "its specificity the *normal* recall, 0.00 (" in paragraph.split("\n")[0]
    assert "predictive value" not in paragraph.split("\n")[0]
    # Not for more classes, nor for two classes neither of which is normal.
    assert "**As a test for" not in render_pages(make_results())["results.md"]
    assert finding_rates(results["test"], ["benign", "malignant"]) is None
    assert finding_rates(results["test"], names) is not None


def test_the_experiments_glossary_explains_the_settings_some_variant_uses() -> None:
    """A PneumoniaMNIST plan of five variants had the page define label smoothing, ensembles and
    TTA, which none of them used. A variant's settings are its first run's."""
    rows = [
        {"first_run": {"config": {"model": "study_cnn", "schedule": "constant"}}},
        {"first_run": {"config": {"model": "wide_cnn", "optimizer": "adamw"}}},
        {"first_run": {"config": {"schedule": "onecycle", "ensemble": 3, "tta": True}}},
    ]
    assert glossary_terms(rows) == ["schedule", "adamw", "ensemble", "wide_cnn", "tta"]
    assert glossary_terms(rows[:1]) == []
    experiments = _plan_over_three_seeds(
        "better",
        [
            _two_class_variant("baseline", 0.50, 0.70, 0.30),
            _two_class_variant("better", 0.51, 0.71, 0.40),
        ],
    )
    for variant, config in zip(
        experiments["variants"], ({}, {"label_smoothing": 0.1}), strict=True
    ):
        for run in variant["runs"]:
            run["config"] = {**run["config"], **config}
    # The page asks for these keys (test_experiments checks the page of a real build).
    template = (Path(__file__).parent.parent / "templates" / "experiments.md.j2").read_text()
    asked = re.findall(r'{% if "(\w+)" in experiments.glossary %}', template)
    assert sorted(asked) == sorted(GLOSSARY_SETTINGS)
    assert experiments_view(experiments, _two_class_dataset())["glossary"] == ["label_smoothing"]
