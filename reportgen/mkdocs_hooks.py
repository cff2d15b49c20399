"""MkDocs hooks, named in mkdocs.yml.

- Markdown files under `data/` are downloads, not pages. `data/model_card.md` is a Hugging Face
  model card; readers download it as it is, so MkDocs must copy it like results.json instead of
  rendering it to `data/model_card/index.html`. Links to it from pages are then checked and
  rewritten like links to any other file.
- A figure with a phone rendition (`![...](figures/x.png){ data-phone-src="figures/x.phone.png" }`
  in a template) becomes a `<picture>` that shows the rendition on phone-sized screens. The
  lightbox link around it (mkdocs-glightbox, which runs before hooks) keeps the wide figure, the
  one worth zooming into.
- The theme's templates are compiled once per process (`compiled_templates`): tests and
  `reportgen serve` build the site many times.
"""

from __future__ import annotations

import html
import posixpath
import re
from html.parser import HTMLParser
from typing import Any

import jinja2
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from reportgen.compiled_templates import THEME_TEMPLATES
from reportgen.phone_layout import PHONE_DENSITY, PHONE_MEDIA

DOWNLOADS_DIR = "data/"
PHONE_ATTRIBUTE = "data-phone-src"
# An img start tag, a ">" inside a quoted attribute value included.
_IMAGE_TAG = re.compile(r"""<img\b(?:[^>"']|"[^"]*"|'[^']*')*>""")
_PHONE_SOURCE = re.compile(rf"""\s{PHONE_ATTRIBUTE}=(?:"[^"]*"|'[^']*')""")


class _DownloadFile(File):
    """A Markdown file that MkDocs copies verbatim."""

    def is_documentation_page(self) -> bool:
        return False


def on_env(env: jinja2.Environment, config: Any, files: Files) -> jinja2.Environment:
    env.bytecode_cache = THEME_TEMPLATES
    return env


def on_files(files: Files, config: Any) -> Files:
    for file in list(files):
        if file.src_uri.startswith(DOWNLOADS_DIR) and file.is_documentation_page():
            files.remove(file)
            files.append(
                _DownloadFile(
                    file.src_uri,
                    config["docs_dir"],
                    config["site_dir"],
                    config["use_directory_urls"],
                )
            )
    return files


class _AttributeReader(HTMLParser):
    """Reads the attributes of the start tags it is fed, unescaped, into `found`."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.update((name, value or "") for name, value in attrs)

    handle_startendtag = handle_starttag


def _attributes(tag: str) -> dict[str, str]:
    """The attributes of one HTML start tag, unescaped."""
    reader = _AttributeReader()
    reader.feed(tag)
    return reader.found


def with_phone_renditions(page_html: str, page: Page, files: Files) -> str:
    """page_html with each image that names a phone rendition wrapped in a `<picture>` whose
    source is that rendition on phone-sized screens; a rendition that is not among files fails
    the build, naming the page and the file."""

    def wrap(match: re.Match[str]) -> str:
        tag = match.group(0)
        attributes = _attributes(tag)
        if PHONE_ATTRIBUTE not in attributes:
            return tag
        # Relative to the page's Markdown file, as the image's own src was before MkDocs
        # rewrote it for the page's URL.
        wanted = posixpath.normpath(
            posixpath.join(posixpath.dirname(page.file.src_uri), attributes[PHONE_ATTRIBUTE])
        )
        rendition = files.get_file_from_path(wanted)
        if rendition is None:
            raise PluginError(
                f"{page.file.src_uri}: the phone rendition {wanted} of a figure is missing from "
                "the docs folder. Run reportgen build again to draw it."
            )
        source = (
            f'<source media="{PHONE_MEDIA}" '
            f'srcset="{html.escape(rendition.url_relative_to(page.file))} {PHONE_DENSITY}x">'
        )
        # The image's own density, said outright: without it Chromium keeps the rendition's 2x
        # for the wide figure when a phone turns sideways, and shows that at half its size.
        own_density = f' srcset="{html.escape(attributes["src"])} 1x"'
        kept = _PHONE_SOURCE.sub(lambda _: own_density, tag)
        return f"<picture>{source}{kept}</picture>"

    return _IMAGE_TAG.sub(wrap, page_html)


def on_page_content(page_html: str, page: Page, config: Any, files: Files) -> str:
    return with_phone_renditions(page_html, page, files)
