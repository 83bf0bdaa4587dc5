{% raw %}
// The page's behaviour: span tooltips, sortable tables, label toggles. Text from the data only
// ever goes through textContent, never innerHTML.
(function () {
  "use strict";
  const tip = document.getElementById("tip");

  function showTip(mark, x, y) {
    tip.textContent = mark.dataset.tip;
    tip.hidden = false;
    const box = mark.getBoundingClientRect();
    tip.style.left = (x !== undefined ? x + 12 : box.left) + window.scrollX + "px";
    tip.style.top = (y !== undefined ? y + 16 : box.bottom + 4) + window.scrollY + "px";
  }
  function hideTip() { tip.hidden = true; }

  document.querySelectorAll("mark.span").forEach(function (mark) {
    mark.addEventListener("mouseover", function (event) {
      event.stopPropagation(); // the innermost span under the pointer speaks
      showTip(mark, event.clientX, event.clientY);
    });
    mark.addEventListener("mouseout", function (event) {
      event.stopPropagation();
      hideTip();
    });
    mark.addEventListener("focus", function () { showTip(mark); });
    mark.addEventListener("blur", hideTip);
  });

  function sortValue(cell) {
    const given = cell.dataset.sort;
    if (given !== undefined && given !== "" && !isNaN(Number(given))) { return Number(given); }
    return cell.textContent.trim().toLowerCase();
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    const heads = table.querySelectorAll("thead th");
    heads.forEach(function (head, column) {
      head.addEventListener("click", function () {
        const body = table.tBodies[0];
        const ascending = head.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
        head.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const rows = Array.from(body.rows).filter(function (row) { return row.cells.length > column; });
        rows.sort(function (a, b) {
          const x = sortValue(a.cells[column]);
          const y = sortValue(b.cells[column]);
          const order = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  document.querySelectorAll(".legend .chip").forEach(function (chip) {
    chip.addEventListener("click", function () {
      const shown = chip.getAttribute("aria-pressed") !== "true";
      chip.setAttribute("aria-pressed", shown ? "true" : "false");
      const label = chip.dataset.label;
      document.querySelectorAll("mark.span").forEach(function (mark) {
        if (JSON.parse(mark.dataset.labels).indexOf(label) >= 0) {
          mark.classList.toggle("off", !shown);
        }
      });
    });
  });
})();
{% endraw %}
