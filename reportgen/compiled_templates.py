"""Jinja templates compiled once per process: the page templates (render.py) and the theme's
(MkDocs, through the hook). Tests and `reportgen serve` render many times in one process; each
render otherwise compiles every template again (about 0.3 s for the pages, 0.25 s for the
theme).

Jinja's bytecode cache keeps each template's code under its name and file with a checksum of its
source, and compiles again when the source differs, so an edited template is never served from
old code. Code depends on the environment's options too, so each kind of environment, always
made alike, has a cache of its own.
"""

from __future__ import annotations

import jinja2
import jinja2.bccache


class CompiledInMemory(jinja2.BytecodeCache):
    """Jinja's bytecode cache, kept in this process's memory."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # Jinja checks the source's checksum

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


PAGE_TEMPLATES = CompiledInMemory()  # render.make_environment's
THEME_TEMPLATES = CompiledInMemory()  # MkDocs' theme environment (mkdocs_hooks.on_env)
