"""The built site in a real browser: Playwright driving the system Chromium over 127.0.0.1.

One 1-epoch build of the synthetic DermaMNIST file is served by a thread for the whole module.
Screenshots are taken only when $REPORTGEN_SCREENSHOTS names a folder to keep them in.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import http.server
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

import reportgen
from reportgen.cli import main
from reportgen.figure_plan import FIGURE_FILES
from reportgen.render import PAGES
from tests.conftest import dir_args, synthetic_build_args

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium tries to reach Google's services.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO_URL = "https://git.example.org/lab/reportgen"

# In CI (.ci/run installs Chromium) a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file() and not os.environ.get("CI"),
    reason="needs the Debian chromium package (/usr/bin/chromium); .ci/run installs it",
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format_: str, *args: Any) -> None:
        pass


def page_url(base: str, page: str) -> str:
    return base if page == "index.md" else f"{base}{page.removesuffix('.md')}/"


@contextlib.contextmanager
def built_and_served(base: Path, build_args: list[str]) -> Iterator[dict[str, Any]]:
    """Build a site with build_args into base's docs, site and cache folders, served by a thread
    on 127.0.0.1 (its address is the build's --site-url) while the context lasts."""
    dirs = {name: base / name for name in ("docs", "site", "cache")}
    handler = functools.partial(_QuietHandler, directory=str(dirs["site"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        arguments = [*build_args, "--site-url", url, "--quiet", *dir_args(dirs)]
        result = CliRunner().invoke(main, arguments)
        assert result.exit_code == 0, result.output
        yield {"url": url, "dirs": dirs}
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def served_site(
    synthetic_derma_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A 1-epoch build of the synthetic DermaMNIST file, without experiments."""
    build_args = synthetic_build_args(
        synthetic_derma_root, "--epochs", "1", "--repo-url", REPO_URL, dataset="dermamnist"
    )
    with built_and_served(tmp_path_factory.mktemp("browser-site"), build_args) as served:
        yield served


@pytest.fixture(scope="module")
def served_experiments_site(
    synthetic_retina_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """A 1-epoch build of the synthetic RetinaMNIST file with two variants, one seed: the
    baseline and the wide CNN, whose section has every tab a variant can have."""
    base = tmp_path_factory.mktemp("browser-experiments")
    plan = base / "plan.toml"
    plan.write_text(
        'seeds = [0]\n[[variants]]\nname = "baseline"\n'
        '[[variants]]\nname = "wide"\ndescription = "The wide CNN."\nmodel = "wide_cnn"\n'
    )
    build_args = synthetic_build_args(
        synthetic_retina_root, "--epochs", "1", "--experiments", str(plan)
    )
    with built_and_served(base, build_args) as served:
        yield served


@pytest.fixture(scope="module")
def keep_screenshot() -> Callable[..., None]:
    """keep_screenshot(tab, file, full_page=True) saves a screenshot to $REPORTGEN_SCREENSHOTS
    when that is set, for a person to look at; without it, nothing (they cost seconds each)."""
    chosen = os.environ.get("REPORTGEN_SCREENSHOTS")
    if not chosen:
        return lambda tab, file, full_page=True: None
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)

    def keep(tab: Any, file: str, full_page: bool = True) -> None:
        tab.screenshot(path=str(folder / file), full_page=full_page)

    return keep


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _record_failed_request(tab: Any, request: Any) -> None:
    """Log a request that failed, except one the browser cancelled itself: the next goto aborts
    what the last page still had in flight (its favicon, say). A missing file is not such a
    case: it answers 404, which Chromium reports as a console error."""
    reason = request.failure or ""
    if reason != "net::ERR_ABORTED":
        tab.console_errors.append(f"request failed ({reason}): {request.url}")


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh tab (fresh storage, so the light palette) that records console errors."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.console_errors = []
    tab.on(
        "console",
        lambda message: message.type == "error" and tab.console_errors.append(message.text),
    )
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    tab.on("requestfailed", lambda request: _record_failed_request(tab, request))
    yield tab
    context.close()


def nav_links(page: Any) -> list[str]:
    """Every page the primary navigation links to, as absolute URLs, in order."""
    hrefs = page.eval_on_selector_all(
        "nav.md-nav--primary a.md-nav__link[href]", "links => links.map(link => link.href)"
    )
    return list(dict.fromkeys(href for href in hrefs if "#" not in href))


def broken_images(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "img", "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )


def test_every_nav_page_loads_with_its_images_and_no_console_errors(
    served_site: dict[str, Any], page: Any, keep_screenshot: Callable[..., None]
) -> None:
    url = served_site["url"]
    page.goto(url)
    links = nav_links(page)
    assert sorted(links) == sorted(page_url(url, name) for name in PAGES)
    images_seen: set[str] = set()
    for link in links:
        response = page.goto(link, wait_until="load")
        assert response is not None and response.status == 200, link
        page.wait_for_load_state("networkidle")
        assert broken_images(page) == [], link
        images_seen.update(page.eval_on_selector_all("img", "images => images.map(i => i.src)"))
        assert (
            page.locator(".admonition.danger")
            .first.inner_text()
            .startswith("Research and education only")
        )
        name = link.removeprefix(url).strip("/") or "index"
        keep_screenshot(page, f"{name}.png")
    # A desktop-sized window gets every figure, and no phone rendition (tested below).
    names_seen = {src.rsplit("/", 1)[-1] for src in images_seen}
    assert names_seen >= {file for key, file in FIGURE_FILES.items() if not key.endswith("_phone")}
    assert page.console_errors == []


def test_results_page_figures_have_captions_tabs_and_zoom(
    served_site: dict[str, Any], page: Any
) -> None:
    page.goto(page_url(served_site["url"], "results.md"), wait_until="networkidle")
    captions = page.locator("figure figcaption").all_inner_texts()
    assert any("Reliability diagram" in caption for caption in captions)
    assert all("dermamnist.npz" in caption for caption in captions)  # every caption names its data
    counts_tab = page.get_by_text("Counts", exact=True)
    counts_tab.click()
    counts_image = page.locator("img[src$='confusion_matrix_counts.png']")
    assert counts_image.is_visible()
    page.locator("img[src$='roc_curves.png']").click()
    zoomed = page.locator(".glightbox-container .gslide.current img")
    zoomed.wait_for(state="visible")
    assert zoomed.get_attribute("src").endswith("roc_curves.png")
    assert page.console_errors == []


def searched(page: Any, query: str) -> Any:
    """The search results once query is typed into the header's search box."""
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially(query)  # Material searches on key presses, not on fill
    return page.locator(".md-search-result__item")


def settled_first_result(results: Any, text: str | re.Pattern[str]) -> None:
    """Fail unless the first result comes to hold text. Material searches again after each key,
    so the first results shown can be a shorter query's ("E" before "ECE"); Playwright's expect
    retries until the last query's results are in, for up to 5 s."""
    from playwright.sync_api import expect

    expect(results.first).to_contain_text(text)


def test_search_finds_accuracy(
    served_site: dict[str, Any], page: Any, keep_screenshot: Callable[..., None]
) -> None:
    page.goto(served_site["url"], wait_until="networkidle")
    results = searched(page, "accuracy")
    settled_first_result(results, re.compile("accuracy", re.IGNORECASE))
    assert results.count() >= 3
    keep_screenshot(page, "search-accuracy.png", full_page=False)
    assert page.console_errors == []


def test_dark_mode_toggle_switches_the_palette(
    served_site: dict[str, Any], page: Any, keep_screenshot: Callable[..., None]
) -> None:
    page.goto(page_url(served_site["url"], "results.md"), wait_until="networkidle")

    def palette() -> tuple[str, str]:
        return page.evaluate(
            "() => [document.body.dataset.mdColorScheme, getComputedStyle(document.body).backgroundColor]"
        )

    light_scheme, light_background = palette()
    page.locator("form[data-md-component='palette'] label:visible").click()
    page.wait_for_function("() => document.body.dataset.mdColorScheme === 'slate'")
    dark_scheme, dark_background = palette()
    assert (light_scheme, dark_scheme) == ("default", "slate")
    assert light_background != dark_background
    keep_screenshot(page, "results-dark.png")
    assert page.console_errors == []


def test_instant_navigation_keeps_the_page_alive(served_site: dict[str, Any], page: Any) -> None:
    page.goto(served_site["url"], wait_until="networkidle")
    page.evaluate("() => { window.stillTheSameDocument = true; }")
    page.locator("nav.md-nav--primary a.md-nav__link[href$='model-card/']").first.dispatch_event(
        "click"
    )
    page.wait_for_url("**/model-card/")
    page.locator("h1", has_text="Model card").wait_for()
    assert page.evaluate("() => window.stillTheSameDocument === true")  # no full reload
    # reportgen.js named the copy-button landmark of the page's code block (its citation).
    labels = page.eval_on_selector_all("nav.md-code__nav", "navs => navs.map(n => n.ariaLabel)")
    assert labels == ["Code block 1: copy"]
    assert page.console_errors == []


def test_footer_urls_and_copy_buttons(served_site: dict[str, Any], page: Any) -> None:
    url = page_url(served_site["url"], "reproducibility.md")
    page.goto(url, wait_until="networkidle")
    assert page.locator("link[rel='canonical']").get_attribute("href") == url  # from --site-url
    footer = page.locator(".md-copyright").inner_text()
    # Built after the results were written (to the minute) and before now: the site's own time.
    stamp = re.search(r"Built (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", footer)
    assert stamp, footer
    built = datetime.datetime.strptime(stamp[1], "%Y-%m-%d %H:%M").replace(tzinfo=datetime.UTC)
    results = json.loads((served_site["dirs"]["docs"] / "data" / "results.json").read_text())
    created = datetime.datetime.fromisoformat(results["created"]).replace(second=0)
    assert created <= built <= datetime.datetime.now(datetime.UTC)
    assert f"reportgen {reportgen.__version__}" in footer
    assert "not a diagnostic device" in footer
    assert page.locator("header a.md-source").get_attribute("href") == REPO_URL
    assert page.locator("header .md-source__repository").inner_text().startswith("lab/reportgen")
    copy_buttons = page.locator("button.md-code__button[data-md-type='copy']")
    assert copy_buttons.count() >= 2  # the command and the rebuild command


def test_downloads_are_served(served_site: dict[str, Any], page: Any) -> None:
    page.goto(page_url(served_site["url"], "results.md"), wait_until="networkidle")
    hrefs = page.eval_on_selector_all("a[href*='data/']", "links => links.map(link => link.href)")
    names = {href.rsplit("/", 1)[-1] for href in hrefs}
    assert names == {"results.json", "predictions.csv", "per_class.csv", "model_card.md"}
    for href in hrefs:
        response = page.request.get(href)
        assert response.status == 200, href
    card = page.request.get(next(href for href in hrefs if href.endswith("model_card.md"))).text()
    assert card.startswith("---\n") and "model-index:" in card


def test_search_finds_a_word_written_in_brackets(served_site: dict[str, Any], page: Any) -> None:
    # The pages write "calibration error (ECE)": words are split at brackets as well as spaces.
    page.goto(served_site["url"], wait_until="networkidle")
    settled_first_result(searched(page, "ECE"), "ECE")
    assert page.console_errors == []


def _right_edge_brightness(box: Any) -> int:
    """The brightest pixel down the middle half of a box's second column of pixels from the
    right, 0-255: the page's white where nothing darkens the edge. Text in the cells there only
    darkens some rows, a shadow all of them."""
    image = Image.open(io.BytesIO(box.screenshot())).convert("L")
    width, height = image.size
    return max(image.getpixel((width - 2, y)) for y in range(height // 4, 3 * height // 4))


def test_phone_tables_keep_their_first_column_and_break_code_only_between_words(
    served_site: dict[str, Any], browser: Any, keep_screenshot: Callable[..., None]
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    try:
        tab.goto(page_url(served_site["url"], "results.md"), wait_until="networkidle")
        # The Per class table (Material wraps each table in a box that scrolls sideways).
        wrap = tab.locator(
            ".md-typeset__scrollwrap", has=tab.locator("th", has_text="Recall 95% interval")
        )
        assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")  # too wide for a phone
        # A shadow at its right edge says that more columns lie to the right.
        assert _right_edge_brightness(wrap) < 240
        first_cell = wrap.locator("tbody tr td").first
        before = first_cell.bounding_box()
        wrap.evaluate("el => { el.scrollLeft = el.scrollWidth; }")
        after = first_cell.bounding_box()
        assert wrap.evaluate("el => el.scrollLeft") > 0
        assert _right_edge_brightness(wrap) >= 250  # scrolled to the end: no shadow
        # A table that fits the screen has none.
        fits = tab.locator(".md-typeset__scrollwrap", has=tab.locator("th", has_text="Metric"))
        assert fits.evaluate("el => el.scrollWidth <= el.clientWidth")
        assert _right_edge_brightness(fits) >= 250
        # In the dark palette the shadow is a lighter glow over the dark page, gone at the end.
        tab.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
        at_end = _right_edge_brightness(wrap)
        wrap.evaluate("el => { el.scrollLeft = 0; }")
        assert _right_edge_brightness(wrap) > at_end + 20
        # The class names stay in view, held at the box's left edge (a table's padding away from
        # where they began); a cell that scrolled with the table would be far off to the left.
        assert 0 <= after["x"] <= before["x"]
        keep_screenshot(tab, "results-phone.png")
        tab.goto(page_url(served_site["url"], "reproducibility.md"), wait_until="networkidle")
        settings = tab.locator("table td:nth-child(2) code")
        assert settings.count() > 3
        # An MD5 or a setting is never broken a few letters to a line: a value wraps only at its
        # spaces and hyphens (a processor's name), so a checksum stays whole.
        codes = settings.evaluate_all(
            "codes => codes.map(c => [c.innerText, c.getClientRects().length])"
        )
        for text, lines in codes:
            assert lines <= 1 + text.count(" ") + text.count("-"), text
        md5s = [lines for text, lines in codes if re.fullmatch("[0-9a-f]{32}", text)]
        assert md5s and set(md5s) == {1}
    finally:
        context.close()
    # On a laptop the layer table fits its column: its code breaks at spaces instead.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    try:
        tab.goto(page_url(served_site["url"], "model.md"), wait_until="networkidle")
        wrap = tab.locator(
            ".md-typeset__scrollwrap", has=tab.locator("th", has_text="What it does")
        )
        assert wrap.evaluate("el => el.scrollWidth <= el.clientWidth")
        assert "convolution" in wrap.inner_text()  # plain words, not `Conv2d(...)`
    finally:
        context.close()


# For each image: the file shown, its width once loaded (0 if not) and its width on the page
# (0 in a tab not chosen, which is not laid out).
PICTURES = (
    "images => images.map(i => [i.currentSrc, i.complete && i.naturalWidth,"
    " i.getBoundingClientRect().width])"
)


def test_phones_get_the_narrow_renditions_of_wide_figures_and_zoom_into_the_wide_ones(
    served_site: dict[str, Any], browser: Any, keep_screenshot: Callable[..., None]
) -> None:
    for page_name, keys in (
        ("dataset.md", ["prevalence", "samples"]),
        ("training.md", ["loss", "metrics"]),
        (
            "results.md",
            ["confusion_normalized", "confusion_counts", "referral_roc", "roc", "reliability"],
        ),
    ):
        _check_phone_renditions(served_site, browser, keep_screenshot, page_name, keys)


def _check_phone_renditions(
    served_site: dict[str, Any],
    browser: Any,
    keep_screenshot: Callable[..., None],
    page_name: str,
    keys: list[str],
) -> None:
    url = page_url(served_site["url"], page_name)
    wide = [FIGURE_FILES[key] for key in keys]
    phone = [FIGURE_FILES[f"{key}_phone"] for key in keys]
    for width, scale, expected in ((390, 3, phone), (1280, 1, wide)):
        context = browser.new_context(
            viewport={"width": width, "height": 844}, device_scale_factor=scale
        )
        tab = context.new_page()
        try:
            tab.goto(url, wait_until="networkidle")
            shown = tab.eval_on_selector_all("picture img", PICTURES)
            assert [src.rsplit("/", 1)[-1] for src, _, _ in shown] == expected, width
            assert all(loaded for _, loaded, _ in shown), shown
            if width == 390:
                # Drawn at twice the pixels and sized at half that (srcset's 2x), then shown
                # within the screen at three quarters of that size or more, not shrunk to a
                # third as the wide figures are.
                figures = served_site["dirs"]["docs"] / "figures"
                for (_, natural, shown_width), file in zip(shown, phone, strict=True):
                    pixels = int.from_bytes((figures / file).read_bytes()[16:20], "big")
                    assert abs(natural - pixels / 2) <= 0.5, file
                    if shown_width == 0 and file != phone[0]:  # in a tab not chosen
                        continue
                    assert 0.75 * natural <= shown_width <= min(natural, 390), file
                name = page_name.removesuffix(".md")
                keep_screenshot(tab, f"{name}-phone-figures.png")
                # Turned sideways, the phone shows the wide figures at their own size, not
                # at half of it (the rendition's 2x kept for them).
                tab.set_viewport_size({"width": 844, "height": 390})
                tab.wait_for_function(
                    "() => [...document.querySelectorAll('picture img')].every("
                    "i => !i.currentSrc.endsWith('.phone.png') && i.complete)"
                )
                for (src, natural, _), file in zip(
                    tab.eval_on_selector_all("picture img", PICTURES), wide, strict=True
                ):
                    pixels = int.from_bytes((figures / file).read_bytes()[16:20], "big")
                    assert src.endswith(f"/{file}") and natural == pixels, (file, natural)
            # The lightbox opens the wide figure, the one worth zooming into, on any screen.
            links = tab.eval_on_selector_all(
                "a.glightbox:has(picture)", "links => links.map(a => a.href)"
            )
            assert [href.rsplit("/", 1)[-1] for href in links] == wide
        finally:
            context.close()


# Each word of a table's cells -> the most lines it is drawn on (2 where it breaks mid-word).
WORD_LINES = """table => {
    const lines = {};
    const walker = document.createTreeWalker(table, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const match of node.data.matchAll(/[^\\s]+/g)) {
            const range = document.createRange();
            range.setStart(node, match.index);
            range.setEnd(node, match.index + match[0].length);
            const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
            lines[match[0]] = Math.max(lines[match[0]] || 0, tops.size);
        }
    }
    return lines;
}"""


def test_experiments_page_tabs_fit_a_phone_and_every_figure_loads(
    served_experiments_site: dict[str, Any], browser: Any, keep_screenshot: Callable[..., None]
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    tab.console_errors = []
    tab.on("pageerror", lambda error: tab.console_errors.append(str(error)))
    try:
        url = page_url(served_experiments_site["url"], "experiments.md")
        tab.goto(url, wait_until="networkidle")
        # Each variant's details are folded away, the recommended variant's open.
        folded = tab.eval_on_selector_all("details", "ds => ds.map(d => d.open)")
        assert folded.count(True) == 1 and len(folded) >= 2, folded
        tab.eval_on_selector_all("details", "ds => ds.forEach(d => { d.open = true; })")
        strips = tab.locator(".tabbed-labels")
        labels = strips.evaluate_all("s => s.map(e => [...e.children].map(l => l.innerText))")
        assert ["Per class", "Seed 0", "Network", "Curves", "Confusion"] in labels  # the wide CNN
        # Every strip of tab labels fits the screen: none hides behind Material's scroll arrow.
        assert strips.evaluate_all("s => s.filter(e => e.scrollWidth > e.clientWidth)") == []
        # Nothing widens the page past the screen (a wide table scrolls in its own box, and the
        # words hidden for screen readers in its cells stay inside it).
        assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # The figures load lazily, so ask the server for each one instead of waiting for them.
        sources = tab.eval_on_selector_all("img", "images => images.map(i => i.src)")
        assert any(src.endswith("figures/experiments/wide_confusion.png") for src in sources)
        assert [src for src in sources if tab.request.get(src).status != 200] == []
        # A tab shows its figure when chosen.
        wide_section = tab.locator(".tabbed-set", has=tab.get_by_text("Network", exact=True))
        wide_section.get_by_text("Confusion", exact=True).click()
        figure = wide_section.locator("img[src$='wide_confusion.png']")
        figure.scroll_into_view_if_needed()  # a lazy image loads once it nears the screen
        figure.wait_for(state="visible")
        assert figure.evaluate("image => image.complete && image.naturalWidth > 0")
        # The recall heat map in its phone rendition.
        heat_map = tab.locator("img[src$='recall_by_variant.png']")
        heat_map.scroll_into_view_if_needed()
        shown = heat_map.evaluate(f"image => ({PICTURES})([image])[0]")
        assert shown[0].endswith("figures/experiments/recall_by_variant.phone.png") and shown[1]
        # Published results: no word of a source is broken across lines ("MedMNIS" / "T v2").
        published = tab.locator("table", has=tab.locator("th", has_text="Like for like?"))
        words = published.evaluate(WORD_LINES)
        assert "MedMNIST" in words and set(words.values()) == {1}, words
        keep_screenshot(tab, "experiments-phone.png")
        assert tab.console_errors == []
    finally:
        context.close()


# axe-core's checks for WCAG 2.0 and 2.1, levels A and AA.
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def accessibility_violations(tab: Any, options: dict = WCAG_AA) -> list[str]:
    """axe-core's violations (of WCAG 2 A and AA, unless options say otherwise) on the page tab
    shows, as "rule: element"."""
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(tab, options=options).response
    return [
        f"{violation['id']}: {node['target']}"
        for violation in response["violations"]
        for node in violation["nodes"]
    ]


def test_every_page_passes_axe_cores_wcag_aa_checks_in_both_palettes_and_on_a_phone(
    served_experiments_site: dict[str, Any], page: Any
) -> None:
    """Contrast (the theme's dimmed tabs, small print and code colours), links told apart from
    text by more than colour, keyboard access to tables that scroll sideways, and names for the
    theme's unnamed parts. Every check in the light palette on the pages that hold each kind of
    content (axe-core takes 1 to 4 s a page, and every page shares the header, footer and link
    styles); in the dark one, contrast and names on a page with code; on a phone, the page
    whose tables scroll sideways."""
    url = served_experiments_site["url"]
    found = {}
    for name in ("index.md", "results.md", "experiments.md", "model-card.md"):
        page.goto(page_url(url, name), wait_until="load")
        found[f"light {name}"] = accessibility_violations(page)
    page.locator("form[data-md-component='palette'] label:visible").click()
    page.wait_for_function("() => document.body.dataset.mdColorScheme === 'slate'")
    # Contrast; and, on a page with code blocks, what reportgen.js mends of the theme beyond
    # WCAG (axe-core's best practices): names for the search dialog and for each block's
    # copy-button landmark, and no progress bar outside the landmarks.
    rules = ["color-contrast", "aria-dialog-name", "landmark-unique", "region"]
    page.goto(page_url(url, "reproducibility.md"), wait_until="load")
    assert page.locator("nav.md-code__nav").count() >= 2  # else landmark-unique checks nothing
    found["dark reproducibility.md"] = accessibility_violations(
        page, {"runOnly": {"type": "rule", "values": rules}}
    )
    # On a phone the widest tables scroll sideways: each takes a tab stop and a name of its own.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page_url(url, "experiments.md"), wait_until="load")
    found["phone experiments.md"] = accessibility_violations(page)
    scrolling = ".md-typeset__scrollwrap[tabindex='0'][role='region']"
    labels = page.eval_on_selector_all(scrolling, "s => s.map(e => e.ariaLabel)")
    assert labels and len(set(labels)) == len(labels), labels
    assert all(label.endswith(", scrolls sideways") for label in labels), labels
    assert any(label.startswith("Table 1 (Variant, Val balanced") for label in labels), labels
    # ...and where the window is wide enough for them, none does.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.wait_for_function(f'() => document.querySelectorAll("{scrolling}").length === 0')
    assert {where: found[where] for where in found if found[where]} == {}
    assert page.console_errors == []
