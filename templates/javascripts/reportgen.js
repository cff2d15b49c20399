/* reportgen's addition to the Material theme (copied into docs/ by every build).

   A table wider than the page scrolls sideways in the box Material wraps it in. A reader without
   a mouse or touch screen could not scroll it: the box gets a tab stop, so the arrow keys scroll
   it, and a name a screen reader announces (WCAG 2.1.1; axe-core's scrollable-region-focusable):
   the table's place on the page and its first column headings, so no two names are alike. Boxes
   whose table fits get neither, so tabbing through a page does not stop at every table.
   Checked on every page Material shows (instant navigation included), when the window resizes
   and when a folded note opens or another tab is chosen (a hidden table has no width). */
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

  document$.subscribe(markScrollingTables);
  window.addEventListener("resize", markScrollingTables);
  document.addEventListener("toggle", markScrollingTables, true); // <details>; does not bubble
  document.addEventListener("change", markScrollingTables); // a content tab's radio button
})();
