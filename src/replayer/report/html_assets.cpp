#include "replayer/report/html_assets.h"

namespace tcpr::replay {

const char* const kReportStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 2em; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: .4em .8em; min-width: 9em; }
.card b { display: block; font-size: 1.3em; }
.card.bad b, td.bad { color: #b00020; }
.card.ok b { color: #1b7f3b; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; white-space: pre-wrap;
      word-break: break-all; font-size: 12px; }
table#endpoints { border-collapse: collapse; font-size: 13px; }
#endpoints th, #endpoints td { border-bottom: 1px solid #ddd; padding: .2em .5em; }
#endpoints td.num { text-align: right; font-variant-numeric: tabular-nums;
                   white-space: nowrap; }
#endpoints th { cursor: pointer; background: #eee; position: sticky; top: 0; }
#endpoints th[aria-sort=ascending]::after { content: " \25B2"; }
#endpoints th[aria-sort=descending]::after { content: " \25BC"; }
td.slower { color: #b00020; } td.faster { color: #1b7f3b; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figcaption { font-weight: bold; font-size: 13px; }
svg .grid { stroke: #ddd; stroke-width: 1; } svg .tick, svg .legend { font-size: 11px; fill: #444; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: .8em; }
.example { border-top: 1px solid #ccc; margin-top: .8em; }
.note { color: #666; font-style: italic; }
)css";

const char* const kReportScript = R"js(
(function () {
  'use strict';
  var table = document.getElementById('endpoints');
  if (table && table.tBodies.length) {
    var body = table.tBodies[0];
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var rank = function (row) { return parseInt(row.getAttribute('data-rank'), 10); };
    var value = function (row, i, numeric) {
      var cell = row.cells[i];
      var v = cell ? cell.getAttribute('data-v') : null;
      if (numeric) { return v === null ? -Infinity : parseFloat(v); }
      return (v !== null ? v : (cell ? cell.textContent : '')).toLowerCase();
    };
    var sortBy = function (th, dir) {
      var i = th.cellIndex, numeric = th.getAttribute('data-type') === 'num';
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a, i, numeric), y = value(b, i, numeric);
        var c = x < y ? -1 : (x > y ? 1 : 0);
        return c === 0 ? rank(a) - rank(b) : (dir === 'asc' ? c : -c);
      });
      rows.forEach(function (r) { body.appendChild(r); });
      heads.forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', dir === 'asc' ? 'ascending' : 'descending');
      table.setAttribute('data-sorted', th.getAttribute('data-key') + ':' + dir);
    };
    heads.forEach(function (th) {
      th.addEventListener('click', function () {
        var now = th.getAttribute('aria-sort');
        var first = th.getAttribute('data-type') === 'num' && th.getAttribute('data-key') !== 'rank'
          ? 'desc' : 'asc';
        sortBy(th, now === 'ascending' ? 'desc' : (now === 'descending' ? 'asc' : first));
      });
    });
    var byKey = function (key) {
      return heads.filter(function (h) { return h.getAttribute('data-key') === key; })[0];
    };
    sortBy(byKey('rank'), 'asc');  // worst first, as the report ranks them
    var m = /[#&]sort=([a-z0-9_]+)(?::(asc|desc))?/.exec(location.hash);
    if (m && byKey(m[1])) {
      var th = byKey(m[1]);
      th.click();
      if (m[2] && table.getAttribute('data-sorted') !== m[1] + ':' + m[2]) { th.click(); }
    }
    var filter = document.getElementById('filter');
    if (filter) {
      filter.addEventListener('input', function () {
        var q = filter.value.toLowerCase();
        Array.prototype.forEach.call(body.rows, function (r) {
          r.hidden = q !== '' && r.getAttribute('data-name').toLowerCase().indexOf(q) < 0;
        });
      });
    }
  }
  document.body.setAttribute('data-ready', '1');
})();
)js";

}  // namespace tcpr::replay
