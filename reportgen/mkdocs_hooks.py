"""MkDocs hooks, named in mkdocs.yml: Markdown files under `data/` are downloads, not pages.

`data/model_card.md` is a Hugging Face model card; readers download it as it is, so MkDocs must
copy it like results.json instead of rendering it to `data/model_card/index.html`. Links to it
from pages are then checked and rewritten like links to any other file.
"""

from __future__ import annotations

from typing import Any

from mkdocs.structure.files import File, Files

DOWNLOADS_DIR = "data/"


class _DownloadFile(File):
    """A Markdown file that MkDocs copies verbatim."""

    def is_documentation_page(self) -> bool:
        return False


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
