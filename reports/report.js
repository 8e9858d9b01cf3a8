// Sorting and filtering of the findings table. The page reads in full without it: rows are in
// report order and every row is visible; this only adds the controls.
(function () {
  "use strict";
  var table = document.getElementById("findings-table");
  var controls = document.getElementById("findings-controls");
  if (!table || !controls) { return; }
  var body = table.tBodies[0];
  // Finding rows only: not the "nothing to list" placeholder.
  var rows = Array.prototype.slice.call(body.rows).filter(function (row) {
    return row.hasAttribute("data-status");
  });
  var search = document.getElementById("filter-text");
  var severity = document.getElementById("filter-severity");
  var status = document.getElementById("filter-status");
  var shown = document.getElementById("filter-count");
  controls.hidden = false;

  function key(row, column) {
    var cell = row.cells[column];
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim().toLowerCase() : v;
  }

  function apply() {
    var text = search.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row) {
      var ok = (!text || row.textContent.toLowerCase().indexOf(text) !== -1) &&
        (!severity.value || row.getAttribute("data-severity") === severity.value) &&
        (!status.value || row.getAttribute("data-status") === status.value);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    shown.textContent = count + " of " + rows.length + " shown";
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
    if (!th.hasAttribute("data-sort")) { return; }
    th.tabIndex = 0;
    function sort() {
      var descending = th.getAttribute("aria-sort") === "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var numeric = th.getAttribute("data-sort") === "number";
      // Stable: equal keys keep report order.
      var order = rows.map(function (row, i) { return [key(row, column), i, row]; });
      order.sort(function (a, b) {
        var x = numeric ? Number(a[0]) - Number(b[0]) : (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
        return (descending ? -x : x) || a[1] - b[1];
      });
      rows = order.map(function (entry) { return entry[2]; });
      rows.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
  [search, severity, status].forEach(function (input) {
    input.addEventListener("input", apply);
    input.addEventListener("change", apply);
  });
  apply();
})();
