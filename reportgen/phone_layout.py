"""What the phone renditions of figures and the pages that show them agree on, kept apart from
both so that the MkDocs hook does not import matplotlib (about 2 s) to read it."""

from __future__ import annotations

# Renditions are drawn at twice the pixels of the wide figures and shown at half size (srcset's
# "2x"): most phones' screens have two or three pixels to the CSS pixel, and text stays sharp.
PHONE_DENSITY = 2
# Material for MkDocs' own breakpoint for phones and portrait tablets: at 720 px and wider, the
# content column holds a wide figure at about 80% of its size or more.
PHONE_MEDIA = "(max-width: 44.9375em)"
# A phone rendition's width as drawn, in inches: shown at the wide figures' scale, about 460 CSS
# px, which a phone's 360 px column shows at three quarters or more.
PHONE_WIDTH_INCHES = 4.2
