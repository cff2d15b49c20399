/* reportgen's addition to the Material theme (copied into docs/ by every build).

   A table wider than the page scrolls sideways in the box Material wraps it in. A reader without
   a mouse or touch screen could not scroll it: the box gets a tab stop, so the arrow keys scroll
   it, and a name a screen reader announces (WCAG 2.1.1; axe-core's scrollable-region-focusable):
   the table's place on the page and its first column headings, so no two names are alike. Boxes
   whose table fits get neither, so tabbing through a page does not stop at every table.
   Checked on every page Material shows (instant navigation included), when the window resizes
   (once the resizing pauses) and when a folded note opens or another tab is chosen (a hidden
   table has no width).

   It also mends three parts of the theme that axe-core flags. The progress bar of instant
   navigation has no name (aria-progressbar-name, a WCAG 4.1.2 failure) and stands outside every
   landmark (region): it is a visual cue, empty unless a page is loading, so it is hidden from
   screen readers, which would otherwise find a progress bar atop every page. The search dialog
   has no name (aria-dialog-name), and neither has the small navigation landmark that holds each
   code block's copy button (landmark-unique: one per block, so each gets its block's number).
   A name the theme gives them itself is kept. */
(function () {
  "use strict";

  function markScrollingTables() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (box, index) {
      if (box.scrollWidth > box.clientWidth + 1) {
        var headings = Array.prototype.slice
          .call(box.querySelectorAll("thead th"), 0, 3)
          .map(function (cell) { return cell.textContent.trim(); });
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        box.setAttribute(
          "aria-label",
          "Table " + (index + 1) + " (" + headings.join(", ") + "), scrolls sideways"
        );
      } else {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  function nameIfUnnamed(element, name) {
    if (element && !element.hasAttribute("aria-label") && !element.hasAttribute("aria-labelledby")) {
      element.setAttribute("aria-label", name);
    }
  }

  function mendThemeParts() {
    var progress = document.querySelector(".md-progress[role='progressbar']");
    if (progress) {
      progress.setAttribute("aria-hidden", "true");
    }
    nameIfUnnamed(document.querySelector(".md-search[role='dialog']"), "Search");
    document.querySelectorAll("nav.md-code__nav").forEach(function (nav, index) {
      nameIfUnnamed(nav, "Code block " + (index + 1) + ": copy");
    });
  }

  var resizing = null;
  function markWhenResizingPauses() {
    clearTimeout(resizing);
    resizing = setTimeout(markScrollingTables, 100);
  }

  document$.subscribe(function () {
    mendThemeParts();
    markScrollingTables();
  });
  window.addEventListener("resize", markWhenResizingPauses);
  document.addEventListener("toggle", markScrollingTables, true); // <details>; does not bubble
  document.addEventListener("change", markScrollingTables); // a content tab's radio button
})();
