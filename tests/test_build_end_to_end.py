"""`reportgen build` end to end on the synthetic DermaMNIST file, through the real medmnist loader."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from reportgen import confidence, figure_plan, metrics
from reportgen.cli import main
from reportgen.figure_plan import FIGURE_FILES
from reportgen.formatting import fmt_number
from reportgen.render import PAGES
from reportgen.study import STUDY_TEST
from tests.conftest import DERMAMNIST_COUNTS, REPO_ROOT, dir_args, synthetic_build_args

PAGE_NAMES = list(PAGES)


@pytest.fixture(scope="module")
def derma_build(
    synthetic_derma_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One 2-epoch build of the synthetic file, shared by the tests of this module."""
    base = tmp_path_factory.mktemp("derma-build")
    dirs = {name: base / name for name in ("docs", "site", "cache")}
    args = synthetic_build_args(
        synthetic_derma_root,
        "--epochs",
        "2",
        "--momentum",
        "0.9",
        *dir_args(dirs),
        dataset="dermamnist",
    )
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    results = json.loads((dirs["docs"] / "data" / "results.json").read_text())
    return {"dirs": dirs, "args": args, "output": result.output, "results": results}


def test_every_page_and_figure_exists(derma_build: dict[str, Any]) -> None:
    docs, site = derma_build["dirs"]["docs"], derma_build["dirs"]["site"]
    for page in PAGE_NAMES:
        assert (docs / page).stat().st_size > 200, page
        html_page = site / ("index.html" if page == "index.md" else f"{page[:-3]}/index.html")
        assert html_page.is_file(), html_page
    for file in FIGURE_FILES.values():
        png = docs / "figures" / file
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", file
        assert (site / "figures" / file).is_file()
    # The site's own stylesheet and script are published and linked from every page.
    index_html = (site / "index.html").read_text()
    for static, link in (
        ("stylesheets/reportgen.css", 'href="stylesheets/reportgen.css"'),
        ("javascripts/reportgen.js", 'src="javascripts/reportgen.js"'),
    ):
        text = (REPO_ROOT / "templates" / static).read_text()
        assert (docs / static).read_text() == text and (site / static).read_text() == text
        assert link in index_html
    # Every page's title names the data, flagged unofficial (a synthetic file here).
    title = "Unofficial DermaMNIST file: reportgen results"
    assert f"<title>Test results - {title}</title>" in (site / "results" / "index.html").read_text()


def test_results_json_is_complete(derma_build: dict[str, Any]) -> None:
    results = derma_build["results"]
    assert results["config"]["epochs"] == 2 and results["config"]["dataset"] == "dermamnist"
    assert set(results["environment"]) >= {"python", "torch", "medmnist", "device", "device_name"}
    # The hardware's name reaches the Training page beside the device type.
    device = f"{results['environment']['device']} ({results['environment']['device_name']})"
    training_page = (derma_build["dirs"]["docs"] / "training.md").read_text()
    assert f"| Device | {device} |" in training_page
    assert results["dataset"]["official"] is False
    assert results["dataset"]["counts"] == DERMAMNIST_COUNTS
    # Skin-lesion classes are not grades: no errors "in grades" between their numbers.
    assert "ordinal" not in results["test"]
    assert [row["epoch"] for row in results["history"]] == [1, 2]
    for row in results["history"]:
        assert set(row) >= {
            "train_loss",
            "train_accuracy",
            "train_auc",
            "val_loss",
            "val_accuracy",
            "val_auc",
        }
    test = results["test"]
    assert set(test) >= {
        "accuracy",
        "auc",
        "balanced_accuracy",
        "macro_f1",
        "confusion_matrix",
        "report",
    }
    assert set(results["timings"]) == {
        "load",
        "train",
        "evaluate",
        "simple reference",
        "figures",
        "render",
        "site",
    }
    assert all(seconds > 0 for seconds in results["timings"].values())  # all ran: none cached
    # The synthetic classes are learnable: two epochs must beat the majority-class baseline.
    assert test["auc"] > 0.9


def test_predictions_csv_agrees_with_results(derma_build: dict[str, Any]) -> None:
    docs = derma_build["dirs"]["docs"]
    table = pd.read_csv(docs / "data" / "predictions.csv")
    assert list(table.columns) == ["index", "label", "prediction"] + [f"prob_{k}" for k in range(7)]
    assert len(table) == 2005
    assert np.bincount(table["label"], minlength=7).tolist() == DERMAMNIST_COUNTS["test"]
    probabilities = table[[f"prob_{k}" for k in range(7)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert (probabilities.argmax(axis=1) == table["prediction"]).all()
    test = derma_build["results"]["test"]
    labels = table["label"].to_numpy()
    assert metrics.accuracy(labels, probabilities) == pytest.approx(test["accuracy"])
    assert metrics.mean_auc(labels, probabilities) == pytest.approx(test["auc"], abs=1e-4)
    matrix = metrics.confusion(labels, table["prediction"].to_numpy(), 7)
    assert matrix.tolist() == test["confusion_matrix"]


def test_every_page_flags_the_unofficial_file(derma_build: dict[str, Any]) -> None:
    docs, site = derma_build["dirs"]["docs"], derma_build["dirs"]["site"]
    md5 = derma_build["results"]["dataset"]["md5"]
    for page in PAGE_NAMES:
        text = (docs / page).read_text()
        assert '!!! warning "Unofficial data file: dermamnist.npz"' in text, page
        assert md5 in text, page
    assert "Unofficial data file" in (site / "results" / "index.html").read_text()


def test_index_shows_the_study_beside_this_run(derma_build: dict[str, Any]) -> None:
    index = (derma_build["dirs"]["docs"] / "index.md").read_text()
    assert "## The study vs this run" in index
    accuracy = derma_build["results"]["test"]["accuracy"]
    assert re.search(rf"\| Accuracy \| {STUDY_TEST['accuracy']:.2f} \| {accuracy:.3f} \|", index)
    train = derma_build["results"]["dataset"]["counts"]["train"]
    melanoma = (
        r"\| melanoma \| 0\.38 / \d\.\d\d \| 0\.04 / \d\.\d\d \| 0\.07 / \d\.\d\d \| 223 / 223 \| "
        rf"11\.12 / {100 * train[4] / sum(train):.2f} \|"
    )
    assert re.search(melanoma, index), index


def test_rerun_reuses_the_cached_run_and_its_figures(derma_build: dict[str, Any]) -> None:
    runner = CliRunner()
    roc = derma_build["dirs"]["docs"] / "figures" / FIGURE_FILES["roc"]
    drawn_at = roc.stat().st_mtime_ns
    cached = runner.invoke(main, derma_build["args"])
    assert cached.exit_code == 0, cached.output
    assert "(UNOFFICIAL data file, cached run)" in cached.output
    results = json.loads((derma_build["dirs"]["docs"] / "data" / "results.json").read_text())
    assert results["cache"]["reused"] is True
    assert results["test"] == derma_build["results"]["test"]
    assert results["timings"]["train"] == 0.0
    # The page says the stages that did not run were cached, rather than showing 0.00 seconds.
    page = (derma_build["dirs"]["docs"] / "reproducibility.md").read_text()
    assert "| train | cached |" in page and "| evaluate | cached |" in page
    assert re.search(r"^\| load \| [\d.]+ \|$", page, re.MULTILINE)
    assert roc.stat().st_mtime_ns == drawn_at  # copied from the earlier build, not redrawn


def test_render_rebuilds_pages_from_results_json(derma_build: dict[str, Any]) -> None:
    dirs = derma_build["dirs"]
    (dirs["docs"] / "results.md").unlink()
    roc = dirs["docs"] / "figures" / FIGURE_FILES["roc"]
    drawn_at = roc.stat().st_mtime_ns
    built = json.loads((dirs["docs"] / "data" / "results.json").read_text())["timings"]
    result = CliRunner().invoke(
        main, ["render", "--docs-dir", str(dirs["docs"]), "--site-dir", str(dirs["site"])]
    )
    assert result.exit_code == 0, result.output
    # Nothing the figures show changed since the build, so they are copied, not redrawn.
    assert roc.stat().st_mtime_ns == drawn_at and "figures:" not in result.output
    assert "confusion_matrix_counts.png" in (dirs["docs"] / "results.md").read_text()
    assert (dirs["docs"] / "figures" / FIGURE_FILES["samples"]).is_file()
    # The Stage timings table shows this command's clock, as results.json records it, up to the
    # pages (render and site are timed after them); the earlier build's seconds are not mixed in.
    timings = json.loads((dirs["docs"] / "data" / "results.json").read_text())["timings"]
    page = (dirs["docs"] / "reproducibility.md").read_text().split("## Stage timings")[1]
    shown = dict(
        re.findall(r"^\| (\w[\w ]*) \| ([\d.]+|cached) \|$", page.split("\n\n")[1], re.MULTILINE)
    )
    reused = json.loads((dirs["docs"] / "data" / "results.json").read_text())["cache"]["reused"]
    assert shown == {
        stage: "cached" if reused and stage in ("train", "evaluate") else f"{seconds:.2f}"
        for stage, seconds in timings.items()
        if stage not in ("render", "site")
    }
    assert set(shown) == {"load", "train", "evaluate", "simple reference", "figures"}
    # The stages render does not repeat keep the build's seconds; figures, which it checks and
    # copies, is this command's own.
    kept = ("load", "train", "evaluate", "simple reference")
    assert {stage: timings[stage] for stage in kept} == {stage: built[stage] for stage in kept}
    assert timings["figures"] != built["figures"]


def test_render_redraws_figures_that_are_missing_or_changed(
    derma_build: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A matching inputs digest is not enough to copy the earlier figures: every file the manifest
    lists must be there, unchanged."""
    dirs = derma_build["dirs"]
    figures = dirs["docs"] / "figures"
    render_args = ["render", "--docs-dir", str(dirs["docs"]), "--site-dir", str(dirs["site"])]
    (figures / FIGURE_FILES["roc"]).unlink()
    (figures / FIGURE_FILES["loss"]).write_bytes(b"not a picture")
    result = CliRunner().invoke(main, render_args)
    assert result.exit_code == 0, result.output
    assert (figures / FIGURE_FILES["roc"]).read_bytes().startswith(b"\x89PNG")
    assert (figures / FIGURE_FILES["loss"]).read_bytes().startswith(b"\x89PNG")
    # Without the folder, all is redrawn but the sample grids (wide and for phones), which need
    # the data file.
    grids = [FIGURE_FILES["samples"], FIGURE_FILES["samples_phone"]]
    samples = {file: (figures / file).read_bytes() for file in grids}
    earlier = sorted(path.name for path in figures.iterdir())
    drawn: list[str] = []  # the figures drawn, as listed by figure_jobs (which only lists them)
    real_figure_jobs = figure_plan.figure_jobs

    def figure_jobs(*args: Any) -> dict[str, Any]:
        def recorded(name: str, job: Any) -> Any:
            return lambda: (drawn.append(name), job())[1]

        return {name: recorded(name, job) for name, job in real_figure_jobs(*args).items()}

    monkeypatch.setattr(figure_plan, "figure_jobs", figure_jobs)
    for kept in ([], grids[:1]):
        shutil.rmtree(figures)
        figures.mkdir()
        for file in kept:
            (figures / file).write_bytes(samples[file])
        result = CliRunner().invoke(main, render_args)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        missing = grids[len(kept)]
        assert f"{missing} is missing" in result.output and "reportgen build" in result.output
        assert drawn == [], "refused only after drawing the other figures"
    (figures / grids[1]).write_bytes(samples[grids[1]])
    result = CliRunner().invoke(main, render_args)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in figures.iterdir()) == earlier
    # The spy sees drawing: every figure but the two grids kept from before.
    assert sorted(drawn) == sorted(set(figure_plan.FIGURE_FILES) - {"samples", "samples_phone"})
    assert "copied from the earlier build" not in result.output  # they name their data
    # A grid drawn before figures named their data is copied too, but the output says so.
    from PIL import Image

    Image.new("RGB", (4, 4)).save(figures / grids[0])
    (dirs["docs"] / "data" / figure_plan.DIGEST_FILE).unlink()
    result = CliRunner().invoke(main, render_args)
    assert result.exit_code == 0, result.output
    assert (
        f"note: {grids[0]} is copied from the earlier build, drawn by an older reportgen "
        "without the line 'Data: DermaMNIST (unofficial file)'; run reportgen build to draw it"
    ) in result.output


def test_the_figures_manifest_lists_each_file_and_rejects_any_change(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.png").write_bytes(b"a")
    (tmp_path / "sub" / "b.png").write_bytes(b"b")
    manifest = figure_plan.figures_manifest("inputs", tmp_path)
    assert manifest.splitlines()[0] == "inputs"
    assert manifest.splitlines()[2].endswith("  sub/b.png")
    assert figure_plan.reusable_figures(manifest, "inputs", tmp_path)
    assert not figure_plan.reusable_figures(manifest, "other inputs", tmp_path)
    assert not figure_plan.reusable_figures("inputs", "inputs", tmp_path)  # an older, bare digest
    (tmp_path / "a.png").write_bytes(b"changed")
    assert not figure_plan.reusable_figures(manifest, "inputs", tmp_path)


def test_retrain_trains_again_with_identical_results(
    earlier_build: dict[str, Path], tmp_path: Path
) -> None:
    """On a copy of earlier_build's cache, whose entry this build would otherwise reuse (the
    same key: --no-site is no training setting)."""
    dirs = {"docs": tmp_path / "docs", "site": tmp_path / "site", "cache": tmp_path / "cache"}
    shutil.copytree(earlier_build["cache"], dirs["cache"])
    args = synthetic_build_args(earlier_build["data"], "--epochs", "1", "--no-site", "--retrain")
    result = CliRunner().invoke(main, [*args, *dir_args(dirs)])
    assert result.exit_code == 0, result.output
    assert "cached run" not in result.output
    earlier = json.loads((earlier_build["docs"] / "data" / "results.json").read_text())
    results = json.loads((dirs["docs"] / "data" / "results.json").read_text())
    assert results["cache"] == {"key": earlier["cache"]["key"], "reused": False}
    assert results["timings"]["train"] > 0
    assert results["test"] == earlier["test"]  # same seed, same numbers


def test_results_json_intervals_and_calibration_follow_from_the_predictions(
    derma_build: dict[str, Any],
) -> None:
    docs = derma_build["dirs"]["docs"]
    table = pd.read_csv(docs / "data" / "predictions.csv")
    labels = table["label"].to_numpy()
    probabilities = table[[f"prob_{k}" for k in range(7)]].to_numpy()
    test = derma_build["results"]["test"]
    recomputed = confidence.metric_intervals(labels, probabilities)  # the same seed and resamples
    for key in ("accuracy", "balanced_accuracy", "auc"):
        assert test["intervals"][key]["low"] == pytest.approx(recomputed[key]["low"], abs=1e-3), key
        assert test["intervals"][key]["high"] == pytest.approx(recomputed[key]["high"], abs=1e-3), (
            key
        )
        assert test["intervals"][key]["low"] <= test[key] <= test["intervals"][key]["high"], key
    assert test["calibration"]["ece"] == pytest.approx(
        confidence.reliability_bins(labels, probabilities)["ece"], abs=1e-4
    )
    assert sum(row["count"] for row in test["calibration"]["bins"]) == 2005


def test_per_class_csv_and_model_card_are_published(derma_build: dict[str, Any]) -> None:
    docs, site = derma_build["dirs"]["docs"], derma_build["dirs"]["site"]
    results = derma_build["results"]
    table = pd.read_csv(docs / "data" / "per_class.csv")
    assert list(table["class"]) == results["dataset"]["class_names"]
    assert table["test_images"].tolist() == DERMAMNIST_COUNTS["test"]
    assert table["train_images"].tolist() == DERMAMNIST_COUNTS["train"]
    classes = results["test"]["report"]["classes"]
    np.testing.assert_allclose(table["recall"], [row["recall"] for row in classes], atol=1e-6)
    np.testing.assert_allclose(
        table["recall_low"],
        [row["low"] for row in results["test"]["intervals"]["per_class_recall"]],
        atol=1e-6,
    )
    for folder in (docs, site):
        card = (folder / "data" / "model_card.md").read_text()
        assert card.startswith("---\nlicense: unknown\n") and "model-index:" in card  # unofficial
        assert (folder / "data" / "per_class.csv").is_file()
    assert (site / "model-card" / "index.html").is_file()
    assert not (site / "data" / "model_card").exists()  # a download, not a page


def test_summary_table_and_quiet_output(derma_build: dict[str, Any]) -> None:
    output = derma_build["output"]
    assert "[reportgen] figures" in output and "figures: 100%" in output and "pages: 100%" in output
    results = derma_build["results"]
    accuracy = results["test"]["intervals"]["accuracy"]
    shown = fmt_number(results["test"]["accuracy"])
    row = f"accuracy{shown:>21}   {fmt_number(accuracy['low'])} – {fmt_number(accuracy['high'])}"
    assert row in output.splitlines()
    # The terminal rounds as the pages do.
    assert f"| Accuracy | {shown} |" in (derma_build["dirs"]["docs"] / "results.md").read_text()
    quiet = CliRunner().invoke(main, [*derma_build["args"], "--quiet"])  # reuses the cached run
    assert quiet.exit_code == 0, quiet.output
    assert "[reportgen]" not in quiet.output and "%|" not in quiet.output
    lines = quiet.output.splitlines()
    assert lines[0].split() == ["stage", "seconds"] and "95% interval" in quiet.output
    # The command's own clock beside the stages' sum: start-up and imports are outside the stages.
    timed = {line[:20].strip(): line[20:].strip() for line in lines if line[:20].strip()}
    stages = json.loads((derma_build["dirs"]["docs"] / "data" / "results.json").read_text())
    assert float(timed["sum of stages"]) == pytest.approx(sum(stages["timings"].values()), abs=0.01)
    assert float(timed["wall clock"]) >= max(stages["timings"].values())
    assert timed["train"] == "cached" and timed["evaluate"] == "cached"  # as the page says
    assert lines[-1].startswith("DermaMNIST (UNOFFICIAL data file, cached run): test accuracy")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_previews_the_built_pages_and_cleans_up_when_terminated(
    derma_build: dict[str, Any], tmp_path: Path
) -> None:
    """SIGTERM (a service manager's or `timeout`'s stop) ends serve as Ctrl-C does: MkDocs'
    temporary copy of the site, a full build each time, is removed rather than left behind."""
    port = _free_port()
    log = tmp_path / "serve.log"
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    command = [
        sys.executable,
        "-m",
        "reportgen",
        "serve",
        "--docs-dir",
        str(derma_build["dirs"]["docs"]),
        "--dev-addr",
        f"127.0.0.1:{port}",
    ]
    with (
        log.open("w") as log_file,
        subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log_file,
            stderr=log_file,
            env={**os.environ, "TMPDIR": str(temporary)},
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/model-card/", timeout=5
                    ) as response:
                        page = response.read().decode()
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, (
                        f"reportgen serve did not answer within 90 s:\n{log.read_text()}"
                    )
                    time.sleep(0.5)
            assert "Model card" in page and "Built " in page
            assert [path.name for path in temporary.iterdir()] != []  # MkDocs' site is there
        finally:
            server.terminate()
            server.wait(timeout=30)
    assert list(temporary.iterdir()) == [], log.read_text()


def test_a_build_renders_the_templates_as_they_were_when_it_began(
    synthetic_retina_root: Path,
    out_dirs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Editing templates/ while a build trains (a checkout, a half-saved file) leaves its pages as
    the templates were at its start: they are read before training."""
    import shutil

    import reportgen.build
    import reportgen.render

    templates = tmp_path / "templates"
    shutil.copytree(reportgen.render.TEMPLATES_DIR, templates)
    index = templates / "index.md.j2"
    index.write_text(index.read_text() + "\nAS AT THE START\n")
    monkeypatch.setattr(reportgen.render, "TEMPLATES_DIR", templates)
    real_train = reportgen.build._train

    def train_while_templates_change(*args: Any) -> Any:
        index.write_text("EDITED DURING THE BUILD\n")
        (templates / "results.md.j2").write_text("{% if broken %}\n")  # a half-saved file
        (templates / "stylesheets" / "reportgen.css").write_text("/* edited */\n")
        return real_train(*args)

    monkeypatch.setattr(reportgen.build, "_train", train_while_templates_change)
    args = synthetic_build_args(synthetic_retina_root, "--epochs", "1", "--no-site")
    result = CliRunner().invoke(main, [*args, *dir_args(out_dirs)])
    assert result.exit_code == 0, result.output
    docs = out_dirs["docs"]
    assert (docs / "index.md").read_text().startswith("#")
    assert "AS AT THE START" in (docs / "index.md").read_text()  # rendered from the copy
    assert "EDITED" not in (docs / "index.md").read_text()
    assert "## As a screening test" in (docs / "results.md").read_text()
    assert (docs / "stylesheets" / "reportgen.css").read_bytes() == (
        REPO_ROOT / "templates" / "stylesheets" / "reportgen.css"
    ).read_bytes()
    assert index.read_text() == "EDITED DURING THE BUILD\n"  # the copy did change mid-build
