"""Site configuration: the nav lists every page, per-build options reach MkDocs, downloads stay raw."""

from __future__ import annotations

import datetime
import logging
import os
import stat
from pathlib import Path

import pytest
import yaml

import reportgen
from reportgen import output_folders, site
from reportgen.errors import ReportgenError
from reportgen.render import PAGES
from tests.conftest import REPO_ROOT, make_results


def nav_pages(entries: list) -> list[str]:
    """The Markdown files of an mkdocs.yml nav, sections flattened, in order."""
    pages = []
    for entry in entries:
        for value in entry.values():
            pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_nav_lists_every_page_once() -> None:
    # mkdocs.yml uses no custom YAML tags, so the safe loader reads it.
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
    pages = nav_pages(config["nav"])
    assert sorted(pages) == sorted(PAGES)
    assert len(pages) == len(set(pages))


def test_site_options_become_mkdocs_overrides() -> None:
    options = site.SiteOptions(
        site_url="https://lab.example.org/study/",
        repo_url="https://git.example.org/lab/reportgen/",
        footer="x",
        site_name="reportgen: RetinaMNIST results",
    )
    assert options.overrides() == {
        "site_url": "https://lab.example.org/study/",
        "repo_url": "https://git.example.org/lab/reportgen/",
        "repo_name": "lab/reportgen",
        "copyright": "x",
        "site_name": "reportgen: RetinaMNIST results",
    }
    # None keeps mkdocs.yml's value (load_config drops None).
    assert set(site.SiteOptions().overrides().values()) == {None}


def test_the_site_title_names_the_data_and_flags_an_unofficial_file() -> None:
    results = make_results(flag="retinamnist", official=True)
    assert site.site_name(results) == "reportgen: RetinaMNIST results"
    results["dataset"]["official"] = False
    assert site.site_name(results) == "Unofficial RetinaMNIST file: reportgen results"


def test_footer_names_date_version_and_data_and_escapes_html() -> None:
    results = make_results(official=True)
    built = datetime.datetime(2026, 3, 4, 5, 6, tzinfo=datetime.UTC)
    footer = site.footer_text(results, built)
    assert footer.startswith(
        f"Built 2026-03-04 05:06 UTC with reportgen {reportgen.__version__} from DermaMNIST."
    )
    assert "not a diagnostic device" in footer
    results["dataset"]["name"] = "<b>x</b>"
    results["dataset"]["official"] = False
    assert "&lt;b&gt;x&lt;/b&gt;" in site.footer_text(results, built)


def test_markdown_under_data_is_copied_not_rendered(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "data").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\n[the card](data/model_card.md)\n")
    (docs / "data" / "model_card.md").write_text("---\nlicense: mit\n---\n# Card\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: t\nstrict: true\nnav:\n  - Home: index.md\n"
        f"hooks:\n  - {REPO_ROOT / 'reportgen' / 'mkdocs_hooks.py'}\n"
    )
    site.build_site(docs, tmp_path / "site", config)
    assert (
        tmp_path / "site" / "data" / "model_card.md"
    ).read_text() == "---\nlicense: mit\n---\n# Card\n"
    assert not (tmp_path / "site" / "data" / "model_card").exists()
    assert 'href="data/model_card.md"' in (tmp_path / "site" / "index.html").read_text()


def test_theme_templates_compiled_in_an_earlier_build_are_compiled_again_when_edited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook keeps the theme's compiled templates for the next build in this process (serve,
    tests); a theme template edited in between is compiled again, never served from old code."""
    import jinja2

    compiled: list[str] = []
    real_compile = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *a, **k):  # type: ignore[no-untyped-def]
        compiled.append(name or "")
        return real_compile(self, source, name, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n")
    overrides = tmp_path / "overrides"
    overrides.mkdir()
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: t\nstrict: true\nnav:\n  - Home: index.md\n"
        "theme:\n  name: mkdocs\n  custom_dir: overrides\n"
        f"hooks:\n  - {REPO_ROOT / 'reportgen' / 'mkdocs_hooks.py'}\n"
    )
    shown, compiled_per_build = [], []
    for mark in ("first edition", "second edition", "second edition"):
        (overrides / "main.html").write_text(
            '{% extends "base.html" %}{% block content %}<p>' + mark + "</p>{% endblock %}"
        )
        compiled.clear()
        site.build_site(docs, tmp_path / "site", config)
        shown.append((tmp_path / "site" / "index.html").read_text())
        compiled_per_build.append(sorted(set(compiled)))
    assert "<p>first edition</p>" in shown[0] and "<p>second edition</p>" in shown[1]
    assert "main.html" in compiled_per_build[1]  # edited: compiled again...
    assert compiled_per_build[2] == []  # ...unchanged: none at all
    assert "<p>second edition</p>" in shown[2]


def _phone_rendition_docs(tmp_path: Path) -> tuple[Path, Path]:
    """A docs folder whose two pages show a figure with a phone rendition and one without, and
    an mkdocs.yml that runs reportgen's hook: (docs, config)."""
    docs = tmp_path / "docs"
    (docs / "figures").mkdir(parents=True)
    for name in ("wide.png", "wide.phone.png", "plain.png"):
        (docs / "figures" / name).write_bytes(b"\x89PNG\r\n\x1a\n")
    figures = (
        '![Wide "chart"](figures/wide.png){ data-phone-src="figures/wide.phone.png" }\n\n'
        "![Plain](figures/plain.png)\n"
    )
    (docs / "index.md").write_text(f"# Home\n\n{figures}")
    (docs / "dataset.md").write_text(f"# Dataset\n\n{figures}")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: t\nstrict: true\nnav:\n  - Home: index.md\n  - Dataset: dataset.md\n"
        "markdown_extensions:\n  - attr_list\n"
        f"hooks:\n  - {REPO_ROOT / 'reportgen' / 'mkdocs_hooks.py'}\n"
    )
    return docs, config


def test_a_figure_with_a_phone_rendition_shows_it_on_phone_sized_screens(tmp_path: Path) -> None:
    docs, config = _phone_rendition_docs(tmp_path)
    site.build_site(docs, tmp_path / "site", config)
    for page, prefix in (("index.html", ""), ("dataset/index.html", "../")):
        html = (tmp_path / "site" / page).read_text()
        assert (
            '<picture><source media="(max-width: 44.9375em)" '
            f'srcset="{prefix}figures/wide.phone.png 2x">'
            f'<img alt="Wide &quot;chart&quot;" srcset="{prefix}figures/wide.png 1x" '
            f'src="{prefix}figures/wide.png" /></picture>'
        ) in html, page
        assert f'<img alt="Plain" src="{prefix}figures/plain.png" />' in html  # left alone
        assert html.count("<picture>") == 1 and "data-phone-src" not in html


def test_a_missing_phone_rendition_fails_the_build_naming_it(tmp_path: Path) -> None:
    docs, config = _phone_rendition_docs(tmp_path)
    (docs / "figures" / "wide.phone.png").unlink()
    with pytest.raises(ReportgenError) as caught:
        site.build_site(docs, tmp_path / "site", config)
    assert "the phone rendition figures/wide.phone.png of a figure is missing" in str(caught.value)
    assert "reportgen build" in str(caught.value)


def test_a_strict_build_failure_says_what_mkdocs_found(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\n![a figure](figures/gone.png)\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text("site_name: t\nstrict: true\nnav:\n  - Home: index.md\n")
    with pytest.raises(ReportgenError) as caught:
        site.build_site(docs, tmp_path / "site", config)
    message = str(caught.value)
    assert "could not build the site strictly" in message
    assert "'index.md' contains a link 'figures/gone.png'" in message  # the warning itself
    assert not logging.getLogger("mkdocs").handlers  # the collecting handler is removed


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_an_mkdocs_config_that_is_not_a_mapping_is_left_for_mkdocs_to_report(
    tmp_path: Path, text: str
) -> None:
    config = tmp_path / "mkdocs.yml"
    config.write_text(text)
    assert site.hooks_for(config) is None
    with pytest.raises(ReportgenError, match="MkDocs configuration .* is not valid"):
        site.check_site_config(config)


def test_a_copied_mkdocs_config_still_runs_reportgens_hook_and_its_own(tmp_path: Path) -> None:
    """mkdocs.yml names reportgen's hook relative to itself; a copy elsewhere (to customise the
    site) must still get the hook, from the package, and keep hooks of its own."""
    docs = tmp_path / "docs"
    (docs / "data").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\n[the card](data/model_card.md)\n")
    (docs / "data" / "model_card.md").write_text("# Card\n")
    custom = tmp_path / "custom"
    (custom / "hooks").mkdir(parents=True)
    (custom / "hooks" / "mkdocs_hooks.py").write_text(  # the user's own file of that name
        "from pathlib import Path\n\n"
        "def on_post_build(config):\n"
        "    Path(config['site_dir'], 'marked').write_text('ran')\n"
    )
    config = custom / "mkdocs.yml"
    config.write_text(
        "site_name: t\nstrict: true\nnav:\n  - Home: index.md\n"
        "hooks:\n  - reportgen/mkdocs_hooks.py\n  - hooks/mkdocs_hooks.py\n"  # the first: as shipped
    )
    assert site.hooks_for(config) == [
        str(site.REPORTGEN_HOOK),
        str(custom / "hooks" / "mkdocs_hooks.py"),
    ]
    site.check_site_config(config)
    site.build_site(docs, tmp_path / "site", config)
    assert (tmp_path / "site" / "data" / "model_card.md").read_text() == "# Card\n"
    assert not (tmp_path / "site" / "data" / "model_card").exists()
    assert (tmp_path / "site" / "marked").read_text() == "ran"


def test_pages_workflow_builds_with_reportgen_and_deploys_with_the_official_actions() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "pages.yml").read_text())
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build_steps = workflow["jobs"]["build"]["steps"]
    uses = [step["uses"].split("@")[0] for step in build_steps if "uses" in step]
    assert "actions/upload-pages-artifact" in uses and "actions/configure-pages" in uses
    (build_run,) = [step["run"] for step in build_steps if "reportgen build" in step.get("run", "")]
    (install_run,) = [step["run"] for step in build_steps if "pip install" in step.get("run", "")]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in install_run  # no CUDA
    assert "--site-url" in build_run and "--repo-url" in build_run and "--quiet" in build_run
    upload = next(
        step
        for step in build_steps
        if step.get("uses", "").startswith("actions/upload-pages-artifact")
    )
    assert upload["with"]["path"] == "site"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]


def test_published_folders_get_the_umask_mode_not_mkdtemps_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "site"
    old_umask = os.umask(0o022)
    try:
        with output_folders.staging_dir_for(target) as staging:
            (staging / "index.html").write_text("<p>hello</p>")
            output_folders.swap_into((staging, target))
    finally:
        os.umask(old_umask)
    assert (
        stat.S_IMODE(target.stat().st_mode) == 0o755
    )  # a web server running as another user can read it
    assert (target / "index.html").read_text() == "<p>hello</p>"
