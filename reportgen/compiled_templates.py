"""Jinja templates compiled once per process: the page templates (render.py) and the theme's
(MkDocs, through the hook). Tests and `reportgen serve` render many times in one process; each
render otherwise compiles every template again (about 0.3 s for the pages, 0.25 s for the
theme).

Jinja's bytecode cache keeps each template's code under its name and file with a checksum of its
source, and compiles again when the source differs, so an edited template is never served from
old code. The code also depends on the environment: its syntax options, its extensions, and
whether each filter and test takes the context (MkDocs plugins may add or swap them, and
`reportgen serve` reloads an edited mkdocs.yml). These are part of the key, so an environment
set up differently never gets code compiled for another; the pages and the theme keep caches of
their own besides.
"""

from __future__ import annotations

import jinja2
import jinja2.bccache

SYNTAX_OPTIONS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "is_async",
)


def _how_called(functions: dict[str, object]) -> list[tuple[str, str]]:
    """Each filter's or test's name and what Jinja passes it first (context, environment...)."""
    return sorted((name, str(getattr(f, "jinja_pass_arg", ""))) for name, f in functions.items())


def environment_settings(environment: jinja2.Environment) -> str:
    """What the code Jinja compiles for a template depends on, besides the template's source."""
    finalize = environment.finalize
    return repr(
        (
            [getattr(environment, option) for option in SYNTAX_OPTIONS],
            sorted(environment.extensions),
            _how_called(environment.filters),
            _how_called(environment.tests),
            finalize is not None and str(getattr(finalize, "jinja_pass_arg", "")),
            environment.autoescape if isinstance(environment.autoescape, bool) else "callable",
        )
    )


class CompiledInMemory(jinja2.BytecodeCache):
    """Jinja's bytecode cache, kept in this process's memory, keyed by the environment's
    settings as well as the template's name."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def get_bucket(
        self,
        environment: jinja2.Environment,
        name: str,
        filename: str | None,
        source: str,
    ) -> jinja2.bccache.Bucket:
        keyed = f"{name}\0{environment_settings(environment)}"
        return super().get_bucket(environment, keyed, filename, source)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # Jinja checks the source's checksum

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


PAGE_TEMPLATES = CompiledInMemory()  # render.make_environment's
THEME_TEMPLATES = CompiledInMemory()  # MkDocs' theme environment (mkdocs_hooks.on_env)
