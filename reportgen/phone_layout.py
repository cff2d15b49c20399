"""What the phone renditions of figures and the pages that show them agree on, kept apart from
both so that the MkDocs hook does not import matplotlib (about 2 s) to read it."""

from __future__ import annotations

# Renditions are drawn at twice the pixels of the wide figures and shown at half size (srcset's
# "2x"): most phones' screens have two or three pixels to the CSS pixel, and text stays sharp.
PHONE_DENSITY = 2
# Material for MkDocs' own breakpoint for phones and portrait tablets: at 720 px and wider, the
# content column holds a wide figure at about 80% of its size or more.
PHONE_MEDIA = "(max-width: 44.9375em)"
