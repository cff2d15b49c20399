"""Jinja filters: numbers and text as the Markdown pages show them.

Every `{{ value }}` from data passes through `escape_markdown` (the Environment's `finalize`) unless
it is `Markup`: the numbers and links these filters build.
"""

from __future__ import annotations

import html
import json
import math
import re
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup

# The characters Python-Markdown (with the tables extension) lets a backslash escape; escaping any
# other character, e.g. `~`, would show the backslash.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]{}|#!])")


def escape_markdown(value: object) -> str:
    """Text that Markdown and HTML show literally: `<script>` stays text, `|` stays in its cell."""
    if isinstance(value, Markup):
        return str(value)
    text = html.escape(str(value), quote=False)
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text).replace("\n", " ")


def rounded(value: float, digits: int = 3) -> Decimal:
    """value rounded half up from its shortest decimal form, as a reader rounds it by hand:
    211/400 = 0.5275 gives 0.528 (the float, 0.52749999..., would print as 0.527)."""
    if not math.isfinite(value):
        return Decimal(repr(float(value)))  # NaN and infinities have no digits to round
    result = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    return abs(result) if result == 0 else result  # -0.0004 reads 0.000, not -0.000


def is_missing(value: float | None) -> bool:
    """A score that is not there: null in the JSON files, NaN in numpy."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def is_score(value: object) -> bool:
    """A finite number: not a missing score (NaN in a build, null in experiments.json)."""
    return isinstance(value, int | float) and math.isfinite(value)


def fmt_number(value: float | None, digits: int = 3) -> Markup:
    if is_missing(value):
        return Markup("n/a")
    return Markup(f"{rounded(value, digits):f}")


def fmt_percent(value: float | None, digits: int = 1) -> Markup:
    if is_missing(value):
        return Markup("n/a")
    return Markup(f"{rounded(100 * Decimal(repr(float(value))), digits):f}%")


def fmt_difference(value: float, other: float, digits: int = 3, signed: bool = True) -> Markup:
    """value - other, from the two numbers as the page shows them, so the page's arithmetic
    checks out: 0.7265 - 0.7204 is shown as 0.727 - 0.720 = +0.007, not +0.006 (0.0061
    rounded). signed=False drops the sign, for text that says "above" or "below" itself."""
    if is_missing(value) or is_missing(other):
        return Markup("n/a")
    difference = rounded(value, digits) - rounded(other, digits)
    if not signed:
        return Markup(f"{abs(difference):f}")
    sign = "+" if difference >= 0 else "-"  # a zero difference reads +0.000
    return Markup(f"{sign}{abs(difference):f}")


def fmt_count(value: int) -> Markup:
    return Markup(f"{value:,}")


def fmt_interval(interval: dict[str, float | None], digits: int = 3) -> Markup:
    """`low–high` of an interval from confidence.metric_intervals (no spaces: one table line)."""
    if interval["low"] is None or interval["high"] is None:
        return Markup("n/a")
    return Markup(f"{fmt_number(interval['low'], digits)}–{fmt_number(interval['high'], digits)}")


def fmt_interval_cell(interval: dict[str, float | None], digits: int = 3) -> Markup:
    """fmt_interval for a table cell of an HTML page: kept on one line, so a narrow column does
    not break it after the dash."""
    return Markup(f'<span class="nowrap">{fmt_interval(interval, digits)}</span>')


def fmt_code(value: object) -> Markup:
    """Inline code fenced by more backticks than any run inside, so the text stays literal.

    Text with an `&` becomes an HTML <code> element of escaped text instead: in a code span,
    "&#" not followed by a character reference makes Python-Markdown's HTML parser swallow text
    up to later inline HTML on the page (found by the property tests, for a data path "&#")."""
    text = str(value).replace("\n", " ")
    if "&" in text:
        return Markup(f"<code>{escape_markdown(text)}</code>")
    longest_run = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest_run + 1)
    return Markup(f"{fence} {text} {fence}" if longest_run else f"`{text}`")


def fmt_setting(value: object, toml: bool = False) -> str:
    """A config value as a user writes it: true/false rather than Python's True/False, and with
    toml=True strings quoted as in an experiments file. None (no value) reads "not set"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "not set"
    if toml and isinstance(value, str):
        return json.dumps(value)
    return str(value)


def fmt_counted(count: int, noun: str) -> str:
    """ "1 seed", "3 seeds": a count with its noun, plural when it is not one ("once" and
    "twice" for the noun "time")."""
    if noun == "time" and count in (1, 2):
        return "once" if count == 1 else "twice"
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _is_whole(value: float) -> bool:
    return abs(value - round(value)) < 1e-9


def fmt_mean_count(value: float, *, alongside: float | None = None) -> str:
    """A count averaged over runs: whole as it is ("2"), else to one decimal ("0.3"), so that a
    third of an image a run does not read as none. Thousands are grouped, as fmt_count does.
    alongside: a number shown with it (its sd), whose precision it shares: "116.0 ± 29.1", not
    "116 ± 29.1", which reads as if the mean were rounded more coarsely than its spread."""
    if is_missing(value):
        return Markup("n/a")
    whole = _is_whole(value) and (
        alongside is None or is_missing(alongside) or _is_whole(alongside)
    )
    return Markup(f"{rounded(value, 0 if whole else 1):,f}")


def fmt_alternatives(names: list[str], mark: str = "*", conjunction: str = "or") -> Markup:
    """ "*a*, *b* or *c*": names, each escaped and wrapped in `mark` (Markdown emphasis), joined
    as alternatives (or, with conjunction "and", as a list)."""
    shown = [f"{mark}{escape_markdown(name)}{mark}" for name in names]
    return Markup(
        f" {conjunction} ".join([", ".join(shown[:-1]), shown[-1]] if len(shown) > 1 else shown)
    )


def fmt_device(environment: dict[str, object]) -> str:
    """ "cuda (NVIDIA H100 80GB HBM3)": the device type, with the hardware's name where recorded
    (results written before reportgen recorded it have only the type)."""
    name = environment.get("device_name")
    return f"{environment['device']} ({name})" if name else str(environment["device"])


def fmt_code_block(value: object) -> Markup:
    """Text for a fenced code block: a fence inside it is broken so the block cannot end early."""
    return Markup(str(value).replace("```", "` ` `"))


def auc_label(n_classes: int) -> str:
    """The AUC's name in a table: of two classes both one-vs-rest AUCs are the same number, so
    "mean" would puzzle; of more, it is their mean."""
    return "AUC" if n_classes == 2 else "AUC (mean one-vs-rest)"
