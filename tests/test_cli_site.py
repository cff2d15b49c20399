"""CLI options for publishing: URL checks, and `reportgen serve` binding to this machine."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reportgen.cli import main
from reportgen.results import write_results
from tests.conftest import assert_clean_failure, make_results


@pytest.mark.parametrize("command", ["build", "render"])
@pytest.mark.parametrize("option", ["--site-url", "--repo-url"])
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("github.com/lab/repo", "it does not start with http:// or https://"),
        ("https://[lab.github.io/repo/", "it has an unmatched [ or ]"),  # urlsplit raises on it
        ("https://lab.github.io]/repo/", "it has an unmatched [ or ]"),
        ("https://[lab]/", "it cannot be read as an address ('lab' does not appear to be an IPv4"),
        ("https://lab.github.io:99999/repo/", "its port is not a number from 0 to 65535"),
        ("https://:8080/", "it names no host"),
        ("https://lab.git hub.io/", "it holds a space"),
    ],
)
def test_urls_must_be_http_addresses(
    runner: CliRunner, command: str, option: str, url: str, why: str
) -> None:
    result = runner.invoke(main, [command, option, url])
    assert result.exit_code == 2, result.output
    assert f"is not an http(s) address: {why}" in " ".join(result.output.split())
    # The example is of the address asked for: a repository is not a Pages site.
    example = {
        "--site-url": "https://USER.github.io/REPO/",
        "--repo-url": "https://github.com/USER/REPO",
    }
    assert f"e.g. {example[option]}." in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [[], ["build"], ["render"], ["serve"]])
def test_dash_h_is_help(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(main, [*command, "-h"])
    assert result.exit_code == 0 and result.output.startswith("Usage: ")
    assert result.output == runner.invoke(main, [*command, "--help"]).output


@pytest.mark.parametrize(
    "url", ["https://lab.github.io/repo/", "http://127.0.0.1:8000/", "https://[::1]:8443/docs/"]
)
def test_http_addresses_with_a_port_or_an_ipv6_host_are_accepted(url: str) -> None:
    from reportgen.cli_options import check_url

    assert check_url(None, None, url) == url  # type: ignore[arg-type]


@pytest.fixture()
def port_8000_taken_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve's check that nothing holds --dev-addr, skipped: these tests stub MkDocs, and the
    default port may be busy on the test machine (test_serve_at_a_port_in_use_... checks it)."""
    import reportgen.site

    monkeypatch.setattr(reportgen.site, "check_address_free", lambda dev_addr: None)


@pytest.mark.usefixtures("port_8000_taken_or_not")
def test_serve_binds_to_localhost_and_passes_the_docs_and_footer(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mkdocs.commands.serve

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(mkdocs.commands.serve, "serve", lambda **kwargs: calls.append(kwargs))
    results = make_results(official=True)
    results["config"]["repo_url"] = "https://git.example.org/lab/reportgen"
    write_results(results, tmp_path / "docs")
    result = runner.invoke(main, ["serve", "--docs-dir", str(tmp_path / "docs")])
    assert result.exit_code == 0, result.output
    (call,) = calls
    assert call["dev_addr"] == "127.0.0.1:8000"
    assert call["docs_dir"] == str((tmp_path / "docs").resolve())
    assert call["repo_url"] == "https://git.example.org/lab/reportgen"
    assert call["copyright"].startswith("Built ") and "DermaMNIST" in call["copyright"]
    # The line whose absence the refusals below check.
    assert f"Serving {(tmp_path / 'docs').resolve()} at http://127.0.0.1:8000/" in result.output


def test_serve_without_a_build_says_build_first(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["serve", "--docs-dir", str(tmp_path / "docs")])
    assert result.exit_code == 1
    assert "No results file" in result.output and "reportgen build" in result.output


@pytest.mark.parametrize("damage", ["official", "name"])
def test_serve_refuses_a_results_file_of_another_layout(
    runner: CliRunner, tmp_path: Path, damage: str
) -> None:
    """As render does: a field the header or footer reads is gone (a file edited by hand; the
    top-level keys are checked when the file is read)."""
    results = make_results(official=True)
    del results["dataset"][damage]
    write_results(results, tmp_path / "docs")
    result = runner.invoke(main, ["serve", "--docs-dir", str(tmp_path / "docs")])
    assert_clean_failure(result, "results.json does not have the layout", f"KeyError: '{damage}'")
    assert "experiments.json" not in result.output  # serve reads only results.json
    assert "Serving" not in result.output


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1:", ":8000", "127.0.0.1:99999"])
def test_serve_refuses_an_address_without_a_port_before_saying_it_serves(
    runner: CliRunner, tmp_path: Path, address: str
) -> None:
    write_results(make_results(official=True), tmp_path / "docs")
    result = runner.invoke(
        main, ["serve", "--docs-dir", str(tmp_path / "docs"), "--dev-addr", address]
    )
    assert result.exit_code == 2
    assert "is not HOST:PORT" in result.output and "127.0.0.1:8000" in result.output
    assert "Serving" not in result.output and "Traceback" not in result.output


def test_serve_at_a_port_in_use_says_to_choose_another(
    runner: CliRunner, tmp_path: Path, earlier_build: dict[str, Path]
) -> None:
    """MkDocs builds the pages first, then binds: the pages of a real build, then a taken port."""
    shutil.copytree(earlier_build["docs"], tmp_path / "docs")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        result = runner.invoke(
            main, ["serve", "--docs-dir", str(tmp_path / "docs"), "--dev-addr", address]
        )
    assert result.exit_code == 1
    assert f"Cannot serve at {address}" in result.output and "--dev-addr" in result.output
    assert "Traceback" not in result.output
    assert "Serving" not in result.output  # found before it says so, and before building pages


@pytest.mark.usefixtures("port_8000_taken_or_not")
def test_serve_reports_what_mkdocs_refused(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mkdocs.commands.serve
    from mkdocs.exceptions import ConfigurationError

    def refuse(**kwargs: Any) -> None:
        raise ConfigurationError("Config value 'theme': Unrecognised theme name: 'nonesuch'.")

    monkeypatch.setattr(mkdocs.commands.serve, "serve", refuse)
    write_results(make_results(official=True), tmp_path / "docs")
    result = runner.invoke(main, ["serve", "--docs-dir", str(tmp_path / "docs")])
    assert result.exit_code == 1
    assert "MkDocs could not serve" in result.output and "nonesuch" in result.output
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("glightbox_without_selectolax", "port_8000_taken_or_not")
def test_serve_reports_a_plugin_that_fails_to_import_before_serving(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mkdocs.commands.serve

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(mkdocs.commands.serve, "serve", lambda **kwargs: calls.append(kwargs))
    write_results(make_results(official=True), tmp_path / "docs")
    result = runner.invoke(main, ["serve", "--docs-dir", str(tmp_path / "docs")])
    assert_clean_failure(result, "could not load a plugin, theme or hook", "selectolax")
    assert not calls


@pytest.mark.usefixtures("port_8000_taken_or_not")
@pytest.mark.parametrize(("raised", "status"), [((), 130), (("SIGTERM",), 143)])
def test_a_stop_while_the_preview_starts_ends_with_the_shells_status_for_it(
    raised: tuple[str, ...],
    status: int,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C (or SIGTERM, which serve turns into KeyboardInterrupt) during MkDocs' first build,
    outside any build's signal guard: click said "Aborted!" and exited 1."""
    import mkdocs.commands.serve

    def stopped(**kwargs: Any) -> None:
        raise KeyboardInterrupt(*raised)

    monkeypatch.setattr(mkdocs.commands.serve, "serve", stopped)
    write_results(make_results(official=True), tmp_path / "docs")
    result = runner.invoke(main, ["serve", "--docs-dir", str(tmp_path / "docs")])
    assert result.exit_code == status, result.output
    name = raised[0] if raised else "SIGINT"
    assert f"Error: Interrupted by {name}." in result.output
    assert "Aborted!" not in result.output and "Traceback" not in result.output
