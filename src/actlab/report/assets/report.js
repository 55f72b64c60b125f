/* actlab report figures: drawn with uPlot from the run's data embedded in the page.
 *
 * Every element with class "actlab-root" holds a <script type="application/json"
 * class="actlab-data"> with {legend, figures}; each <figure class="chart"
 * data-figure="ID"> inside it is drawn from figures[ID], a list of panels:
 *
 *   lines  x: numbers; series with either seeds (one array per seed, aligned with x: the
 *          mean is drawn, with a band from the lowest to the highest seed, and each seed
 *          on request) or values (with an optional lo/hi band); diverged: [[x, y], ...]
 *          marked with a red cross; optional reference line ref: {y, label}.
 *   strip  one column per series: a dot per seed, and the mean with its interval.
 *   bars   one bar per series.
 *
 * A series with a key belongs to that legend entry (an activation, or a layer): the legend
 * hides and shows it in every figure. Hovering shows the values under the cursor; dragging
 * across a lines panel zooms, a double click zooms back out.
 */
(function () {
  "use strict";
  if (window.actlabReport) return;

  var DIVERGED = "#b3261e";
  var HEIGHT = 250;
  var MIN_WIDTH = 300;

  function fmt(v) {
    if (v == null || !isFinite(v)) return "n/a";
    var a = Math.abs(v);
    if (a !== 0 && (a >= 1e4 || a < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  /* Mean, minimum and maximum over the seeds at each x (nulls left out). */
  function band(seeds, n) {
    var mean = [], lo = [], hi = [];
    for (var i = 0; i < n; i++) {
      var sum = 0, count = 0, min = Infinity, max = -Infinity;
      for (var s = 0; s < seeds.length; s++) {
        var v = seeds[s][i];
        if (v == null) continue;
        sum += v; count++;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      mean.push(count ? sum / count : null);
      lo.push(count ? min : null);
      hi.push(count ? max : null);
    }
    return { mean: mean, lo: lo, hi: hi };
  }

  function crossAt(ctx, x, y, r, colour, width) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r);
    ctx.moveTo(x - r, y + r); ctx.lineTo(x + r, y - r);
    ctx.stroke();
  }

  function Report(root) {
    this.root = root;
    this.data = JSON.parse(root.querySelector("script.actlab-data").textContent);
    this.hidden = {};
    this.seeds = false;
    this.charts = [];
    this.buildLegend();
    var self = this;
    root.querySelectorAll("figure.chart[data-figure]").forEach(function (fig) {
      self.buildFigure(fig, self.data.figures[fig.getAttribute("data-figure")] || []);
    });
    root.querySelectorAll("table.sortable").forEach(sortable);
  }

  Report.prototype.visible = function (meta) {
    if (meta.key != null && this.hidden[meta.key]) return false;
    if (meta.role === "seed") return this.seeds;
    return true;
  };

  Report.prototype.refresh = function () {
    var self = this;
    this.charts.forEach(function (c) {
      c.u.batch(function () {
        c.meta.forEach(function (m, i) {
          if (i === 0) return;
          var show = self.visible(m);
          if (c.u.series[i].show !== show) c.u.setSeries(i, { show: show });
        });
      });
      c.u.redraw(false);
    });
  };

  Report.prototype.buildLegend = function () {
    var holder = this.root.querySelector(".legend");
    var legend = this.data.legend;
    if (!holder || !legend || !legend.items.length) return;
    var self = this;
    holder.appendChild(el("span", "title", legend.title + ":"));
    legend.items.forEach(function (item) {
      var b = el("button", null, null);
      b.type = "button";
      b.setAttribute("data-key", item.key);
      b.setAttribute("aria-pressed", "true");
      b.title = "show or hide " + item.key + " in every figure";
      var sw = el("span", "swatch");
      sw.style.background = item.color;
      b.appendChild(sw);
      b.appendChild(document.createTextNode(item.key));
      b.addEventListener("click", function () {
        self.hidden[item.key] = !self.hidden[item.key];
        b.classList.toggle("off", !!self.hidden[item.key]);
        b.setAttribute("aria-pressed", self.hidden[item.key] ? "false" : "true");
        self.refresh();
      });
      holder.appendChild(b);
    });
    if (legend.seeds) {
      var label = el("label");
      var box = el("input");
      box.type = "checkbox";
      box.className = "show-seeds";
      box.addEventListener("change", function () {
        self.seeds = box.checked;
        self.refresh();
      });
      label.appendChild(box);
      label.appendChild(document.createTextNode(" each seed"));
      holder.appendChild(label);
    }
    holder.appendChild(el("span", "hint", "hover for values; drag to zoom, double-click to reset"));
  };

  Report.prototype.buildFigure = function (fig, panels) {
    var holder = fig.querySelector(".panels");
    var self = this;
    var width = Math.max(
      MIN_WIDTH,
      Math.floor((holder.clientWidth || 900) / Math.max(1, panels.length)) - 18
    );
    panels.forEach(function (p) {
      var box = el("div", "panel");
      box.appendChild(el("div", "panel-title", p.title));
      holder.appendChild(box);
      var built = { lines: linesPanel, strip: stripPanel, bars: barsPanel }[p.kind](p, self);
      if (!built) {
        box.appendChild(el("div", "nodata", "no finite values to draw"));
        return;
      }
      var tip = el("div", "tip");
      box.appendChild(tip);
      built.opts.width = width;
      built.opts.height = HEIGHT;
      built.opts.legend = { show: false };
      built.opts.hooks = {
        setCursor: [function (u) { showTip(u, tip, built, self); }],
        draw: [function (u) { built.draw && built.draw(u, self); }],
      };
      var u = new uPlot(built.opts, built.data, box);
      var chart = { u: u, meta: built.meta, panel: p, box: box };
      self.charts.push(chart);
      built.meta.forEach(function (m, i) {
        if (i > 0 && !self.visible(m)) u.setSeries(i, { show: false });
      });
    });
  };

  var INTEGER_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 1e5, 2e5, 5e5, 1e6];

  function axes(p, xValues) {
    var x = { label: p.xlabel, stroke: "#333", grid: { stroke: "#eee" } };
    if (p.xint && !p.xlog) x.incrs = INTEGER_STEPS;
    if (xValues) {
      x.splits = function () { return xValues.map(function (_, i) { return i; }); };
      x.values = function (u, splits) { return splits.map(function (i) { return xValues[i]; }); };
      x.rotate = xValues.length > 5 ? -30 : 0;
      x.size = xValues.length > 5 ? 70 : 40;
      x.grid = { show: false };
    }
    return [x, { label: p.ylabel, stroke: "#333", grid: { stroke: "#eee" }, size: 60 }];
  }

  function yScale(p) {
    var y = { distr: p.ylog ? 3 : 1, log: 10 };
    if (p.ymin != null) {
      y.range = function (u, min, max) {
        var top = max > p.ymin ? max : p.ymin + 1;
        return [p.ymin, top + (top - p.ymin) * 0.05];
      };
    }
    return y;
  }

  function linesPanel(p, report) {
    var n = p.x.length;
    var data = [p.x], meta = [{ role: "x" }], series = [{}], bands = [];
    var any = false;
    p.series.forEach(function (s) {
      var colour = s.color || "#333";
      var main, lo = s.lo, hi = s.hi;
      if (s.seeds) {
        var b = band(s.seeds, n);
        main = b.mean;
        if (s.seeds.length > 1) { lo = b.lo; hi = b.hi; }
      } else {
        main = s.values;
      }
      if (main.some(function (v) { return v != null; })) any = true;
      var dash = s.dash ? [6, 4] : undefined;
      data.push(main);
      meta.push({ key: s.key, role: "main", label: s.label, lo: lo, hi: hi });
      series.push({
        stroke: colour, width: s.width || 2, dash: dash, spanGaps: false,
        points: { show: !!s.points || n === 1, size: 5, fill: colour },
      });
      if (lo && hi && s.band !== false) {
        var top = data.length;
        data.push(hi, lo);
        meta.push({ key: s.key, role: "hi" }, { key: s.key, role: "lo" });
        series.push(
          { stroke: "transparent", width: 0, points: { show: false }, spanGaps: false },
          { stroke: "transparent", width: 0, points: { show: false }, spanGaps: false }
        );
        bands.push({ series: [top, top + 1], fill: rgba(colour, 0.14) });
      }
      if (s.seeds && s.seeds.length > 1) {
        s.seeds.forEach(function (values, k) {
          data.push(values);
          meta.push({ key: s.key, role: "seed", label: s.label, seed: s.seed_names ? s.seed_names[k] : k });
          series.push({ stroke: rgba(colour, 0.55), width: 1, dash: dash, spanGaps: false, points: { show: false } });
        });
      }
    });
    if (!any) return null;
    return {
      data: data,
      meta: meta,
      opts: {
        scales: { x: { time: false, distr: p.xlog ? 3 : 1, log: 2 }, y: yScale(p) },
        axes: axes(p, null),
        series: series,
        bands: bands,
        cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      },
      draw: function (u, report) {
        var ctx = u.ctx;
        ctx.save();
        ctx.beginPath();
        ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
        ctx.clip();
        if (p.ref) {
          var y = u.valToPos(p.ref.y, "y", true);
          ctx.strokeStyle = "#333"; ctx.lineWidth = 1.2; ctx.setLineDash([2, 3]);
          ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
          ctx.setLineDash([]);
        }
        p.series.forEach(function (s) {
          if (!s.diverged || (s.key != null && report.hidden[s.key])) return;
          s.diverged.forEach(function (pt) {
            crossAt(ctx, u.valToPos(pt[0], "x", true), u.valToPos(pt[1], "y", true), 5, DIVERGED, 2);
          });
        });
        ctx.restore();
      },
      tip: function (u, idx, report) {
        var rows = [];
        meta.forEach(function (m, i) {
          if (i === 0 || !u.series[i].show) return;
          var v = data[i][idx];
          if (v == null) return;
          if (m.role === "main") {
            var text = fmt(v);
            if (m.lo && m.hi && m.lo[idx] != null) text += " (" + fmt(m.lo[idx]) + " – " + fmt(m.hi[idx]) + ")";
            rows.push([v, m.label, text]);
          } else if (m.role === "seed") {
            rows.push([v, m.label + ", seed " + m.seed, fmt(v)]);
          }
        });
        rows.sort(function (a, b) { return b[0] - a[0]; });
        return [(p.xlabel || "x") + " " + fmt(data[0][idx])].concat(rows.map(function (r) { return [r[1], r[2]]; }));
      },
    };
  }

  /* One column per series at x = 0, 1, ...: its seeds spread across the left of the
     column, its mean and interval to the right. */
  function stripPanel(p) {
    var names = p.series.map(function (s) { return s.label; });
    var xs = [], owner = [];
    p.series.forEach(function (s, i) {
      var k = s.points.length;
      s.points.forEach(function (pt, j) {
        xs.push(i - 0.15 + (k > 1 ? (0.3 * j) / (k - 1) : 0.15));
        owner.push([i, j]);
      });
      xs.push(i + 0.3);
      owner.push([i, -1]);
    });
    var data = [xs], meta = [{ role: "x" }], series = [{}];
    var finite = [];
    p.series.forEach(function (s, i) {
      var ys = owner.map(function (o) {
        if (o[0] !== i) return null;
        return o[1] < 0 ? null : s.points[o[1]][1];
      });
      ys.forEach(function (v) { if (v != null) finite.push(v); });
      if (s.mean != null) finite.push(s.mean, s.lo == null ? s.mean : s.lo, s.hi == null ? s.mean : s.hi);
      data.push(ys);
      meta.push({ key: s.key, role: "points", label: s.label });
      series.push({ stroke: s.color, fill: s.color, width: 0, paths: function () { return null; },
                    points: { show: true, size: 9, width: 1, stroke: "#fff", fill: s.color } });
    });
    if (!finite.length) return null;
    var lowest = Math.min.apply(null, finite), highest = Math.max.apply(null, finite);
    var span = highest - lowest || Math.abs(highest) || 1;
    var floor = lowest - 0.1 * span;
    return {
      data: data,
      meta: meta,
      opts: {
        scales: { x: { time: false, range: [-0.6, names.length - 0.4] },
                  y: { range: [floor - 0.05 * span, highest + 0.08 * span] } },
        axes: axes(p, names),
        series: series,
        cursor: { drag: { x: false, y: false, setScale: false }, points: { size: 9 } },
      },
      draw: function (u, report) {
        var ctx = u.ctx;
        ctx.save();
        p.series.forEach(function (s, i) {
          if (report.hidden[s.key]) return;
          var x = u.valToPos(i + 0.3, "x", true);
          if (s.mean != null) {
            ctx.strokeStyle = "#222"; ctx.fillStyle = "#222"; ctx.lineWidth = 1.5;
            if (s.lo != null && s.hi != null) {
              var y0 = u.valToPos(s.lo, "y", true), y1 = u.valToPos(s.hi, "y", true);
              ctx.beginPath();
              ctx.moveTo(x, y0); ctx.lineTo(x, y1);
              ctx.moveTo(x - 4, y0); ctx.lineTo(x + 4, y0);
              ctx.moveTo(x - 4, y1); ctx.lineTo(x + 4, y1);
              ctx.stroke();
            }
            var ym = u.valToPos(s.mean, "y", true);
            ctx.beginPath();
            ctx.moveTo(x, ym - 5); ctx.lineTo(x + 5, ym); ctx.lineTo(x, ym + 5); ctx.lineTo(x - 5, ym);
            ctx.closePath(); ctx.fill();
          }
          for (var k = 0; k < (s.lost || 0); k++) {
            crossAt(ctx, u.valToPos(i - 0.1 + 0.2 * k / Math.max(1, s.lost - 1), "x", true),
                    u.valToPos(floor, "y", true), 5, DIVERGED, 2);
          }
        });
        ctx.restore();
      },
      tip: function (u, idx) {
        var o = owner[idx], s = p.series[o[0]];
        if (!s || !u.series[o[0] + 1].show) return null;
        if (o[1] < 0) {
          if (s.mean == null) return [s.label, ["no finite value", ""]];
          var ci = s.lo != null ? " (" + p.interval + " " + fmt(s.lo) + " – " + fmt(s.hi) + ")" : "";
          return [s.label, ["mean", fmt(s.mean) + ci]].concat(s.lost ? [["diverged seeds", String(s.lost)]] : []);
        }
        var pt = s.points[o[1]];
        return [s.label, ["seed " + pt[0], fmt(pt[1])]];
      },
    };
  }

  function barsPanel(p) {
    var names = p.series.map(function (s) { return s.label; });
    var xs = names.map(function (_, i) { return i; });
    var data = [xs], meta = [{ role: "x" }], series = [{}], any = false;
    p.series.forEach(function (s, i) {
      data.push(xs.map(function (j) { return j === i ? s.value : null; }));
      if (s.value != null) any = true;
      meta.push({ key: s.key, role: "bar", label: s.label });
      series.push({ stroke: s.color, fill: s.color, width: 0, points: { show: false },
                    paths: uPlot.paths.bars({ size: [0.6, 60], align: 0 }) });
    });
    if (!any) return null;
    return {
      data: data,
      meta: meta,
      opts: {
        scales: { x: { time: false, range: [-0.6, names.length - 0.4] }, y: yScale(p) },
        axes: axes(p, names),
        series: series,
        cursor: { drag: { x: false, y: false, setScale: false }, points: { show: false } },
      },
      draw: function (u) {
        if (!p.ref) return;
        var ctx = u.ctx, y = u.valToPos(p.ref.y, "y", true);
        ctx.save();
        ctx.strokeStyle = "#333"; ctx.lineWidth = 1.2; ctx.setLineDash([2, 3]);
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
        ctx.restore();
      },
      tip: function (u, idx) {
        var s = p.series[idx];
        if (!s || !u.series[idx + 1].show) return null;
        return [s.label, [p.ylabel, s.value == null ? "not measured" : fmt(s.value) + (p.unit || "")]];
      },
    };
  }

  function showTip(u, tip, built, report) {
    var idx = u.cursor.idx;
    var lines = idx == null ? null : built.tip(u, idx, report);
    if (!lines || lines.length < 2) { tip.style.display = "none"; return; }
    tip.textContent = "";
    tip.appendChild(el("b", null, lines[0]));
    lines.slice(1).forEach(function (row) {
      var line = el("div");
      line.appendChild(document.createTextNode(row[0] + ": "));
      line.appendChild(el("span", "value", row[1]));
      tip.appendChild(line);
    });
    tip.style.display = "block";
    var over = u.over.getBoundingClientRect(), box = u.root.parentNode.getBoundingClientRect();
    var left = over.left - box.left + u.cursor.left + 14;
    if (left + tip.offsetWidth > box.width) left = over.left - box.left + u.cursor.left - tip.offsetWidth - 14;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = (over.top - box.top + Math.max(0, u.cursor.top - 10)) + "px";
  }

  /* Click a header to sort by it; cells may carry data-sort (a number) for their order. */
  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.setAttribute("title", "sort by " + th.textContent);
      th.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") === "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        function key(row) {
          var cell = row.cells[col];
          var s = cell.getAttribute("data-sort");
          if (s != null) return s === "" ? NaN : parseFloat(s);
          var n = parseFloat(cell.textContent);
          return isNaN(n) ? cell.textContent.trim().toLowerCase() : n;
        }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var xNaN = typeof x === "number" && isNaN(x), yNaN = typeof y === "number" && isNaN(y);
          if (xNaN || yNaN) return xNaN - yNaN; // missing values last either way
          var c = x < y ? -1 : x > y ? 1 : 0;
          return down ? -c : c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function resizeAll(width) {
    window.actlabReport.reports.forEach(function (r) {
      r.charts.forEach(function (c) {
        var holder = c.box.parentNode;
        var n = holder.querySelectorAll(".panel").length;
        var w = width != null ? Math.floor(width / Math.max(1, n)) - 12
                              : Math.max(MIN_WIDTH, Math.floor(holder.clientWidth / n) - 18);
        c.u.setSize({ width: Math.max(160, w), height: width != null ? 230 : HEIGHT });
      });
    });
  }

  function renderAll() {
    document.querySelectorAll(".actlab-root:not([data-rendered])").forEach(function (root) {
      root.setAttribute("data-rendered", "");
      window.actlabReport.reports.push(new Report(root));
    });
  }

  window.actlabReport = { reports: [], renderAll: renderAll, fmt: fmt };

  /* Printing: figures fit the page width (about 700 CSS pixels), then return to the screen's. */
  var print = window.matchMedia ? window.matchMedia("print") : null;
  function printing(on) { resizeAll(on ? 700 : null); }
  if (print && print.addEventListener) print.addEventListener("change", function (e) { printing(e.matches); });
  window.addEventListener("beforeprint", function () { printing(true); });
  window.addEventListener("afterprint", function () { printing(false); });
  var pending = null;
  window.addEventListener("resize", function () {
    if (print && print.matches) return;
    clearTimeout(pending);
    pending = setTimeout(function () { resizeAll(null); }, 150);
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderAll);
  else renderAll();
})();
