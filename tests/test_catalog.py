"""Class names as the pages show them, from medmnist.INFO."""

from __future__ import annotations

from reportgen.catalog import class_names_of, medmnist_info


def test_retinamnist_grades_are_named_as_grades() -> None:
    assert class_names_of(medmnist_info()["retinamnist"]) == [f"grade {k}" for k in range(5)]


def test_dermamnist_keeps_its_diagnosis_names() -> None:
    names = class_names_of(medmnist_info()["dermamnist"])
    assert len(names) == 7 and "melanoma" in names


def test_bare_numbers_of_a_non_ordinal_task_are_classes() -> None:
    info = {"task": "multi-class", "label": {"0": "0", "1": "cat"}}
    assert class_names_of(info) == ["class 0", "cat"]
