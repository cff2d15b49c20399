"""Class names as the pages show them, from medmnist.INFO."""

from __future__ import annotations

from reportgen.catalog import SIC, class_names_of, collection_summary, medmnist_info


def test_retinamnist_grades_are_named_as_grades() -> None:
    assert class_names_of(medmnist_info()["retinamnist"]) == [f"grade {k}" for k in range(5)]


def test_dermamnist_keeps_its_diagnosis_names() -> None:
    names = class_names_of(medmnist_info()["dermamnist"])
    assert len(names) == 7 and "melanoma" in names


def test_bare_numbers_of_a_non_ordinal_task_are_classes() -> None:
    info = {"task": "multi-class", "label": {"0": "0", "1": "cat"}}
    assert class_names_of(info) == ["class 0", "cat"]


def test_slips_in_medmnists_descriptions_are_quoted_with_sic() -> None:
    descriptions = " ".join(info["description"] for info in medmnist_info().values())
    assert all(slip in descriptions for slip in SIC)  # each still there to be marked
    summaries = {row["flag"]: row["summary"] for row in collection_summary()}
    assert "660 computed tomography 153 [sic] (CT) scans." in summaries["fracturemnist3d"]
    assert sum("[sic]" in summary for summary in summaries.values()) == len(SIC)
