"use strict";
// kerf report: lays the treemap out from #kerf-data, then writes into #kerf-check what it drew,
// so that a test can compare the picture with the numbers. Nothing here loads anything.
(function () {
  var violations = [];
  document.addEventListener("securitypolicyviolation", function (event) {
    violations.push(event.blockedURI || event.violatedDirective);
    console.error("kerf report: the page tried to load " + (event.blockedURI || event.violatedDirective));
    record();
  });

  // The layout is in units of a 1000 x 600 canvas, placed as percentages so it scales to the
  // screen and to paper alike.
  var WIDTH = 1000;
  var HEIGHT = 600;
  var check = { leaves: 0, leafBytes: 0, leafArea: 0, maxError: 0, total: 0, laidOut: false };

  // The worst aspect ratio of a row of areas laid along a side of length `side`.
  function worst(row, side) {
    var sum = 0, max = 0, min = Infinity;
    for (var i = 0; i < row.length; i++) {
      sum += row[i].area;
      max = Math.max(max, row[i].area);
      min = Math.min(min, row[i].area);
    }
    var s2 = side * side, sum2 = sum * sum;
    return Math.max((s2 * max) / sum2, sum2 / (s2 * min));
  }

  // Squarified treemap (rows along the shorter side, grown while they get squarer) of
  // `items` (each with `bytes`, largest first) in the rectangle; returns [item, x, y, w, h].
  function squarify(items, x, y, w, h) {
    var out = [];
    var total = 0;
    items.forEach(function (item) { total += item.bytes; });
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = (w * h) / total;
    var rest = items.filter(function (item) { return item.bytes > 0; })
      .map(function (item) { return { item: item, area: item.bytes * scale }; });
    while (rest.length > 0) {
      var side = Math.min(w, h);
      var row = [rest[0]];
      var ratio = worst(row, side);
      while (row.length < rest.length) {
        var next = row.concat([rest[row.length]]);
        var nextRatio = worst(next, side);
        if (nextRatio > ratio) break;
        row = next;
        ratio = nextRatio;
      }
      var rowArea = 0;
      row.forEach(function (entry) { rowArea += entry.area; });
      var last = row.length === rest.length;
      if (w >= h) {
        var columnWidth = last ? w : rowArea / h;
        var top = y;
        row.forEach(function (entry, k) {
          var height = k === row.length - 1 ? y + h - top : entry.area / columnWidth;
          out.push([entry.item, x, top, columnWidth, height]);
          top += height;
        });
        x += columnWidth;
        w -= columnWidth;
      } else {
        var rowHeight = last ? h : rowArea / w;
        var left = x;
        row.forEach(function (entry, k) {
          var width = k === row.length - 1 ? x + w - left : entry.area / rowHeight;
          out.push([entry.item, left, y, width, rowHeight]);
          left += width;
        });
        y += rowHeight;
        h -= rowHeight;
      }
      rest = rest.slice(row.length);
    }
    return out;
  }

  function box(parent, className, x, y, w, h) {
    var element = document.createElement("div");
    element.className = className;
    element.style.left = (100 * x / WIDTH) + "%";
    element.style.top = (100 * y / HEIGHT) + "%";
    element.style.width = (100 * w / WIDTH) + "%";
    element.style.height = (100 * h / HEIGHT) + "%";
    parent.appendChild(element);
    return element;
  }

  function size(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MiB";
    if (bytes >= 1024) return (bytes / 1024).toFixed(1) + " KiB";
    return bytes + " B";
  }

  function record() {
    var output = document.getElementById("kerf-check");
    if (!output) return;
    var resources = performance.getEntriesByType("resource").map(function (entry) { return entry.name; });
    output.setAttribute("data-laid-out", String(check.laidOut));
    output.setAttribute("data-total-bytes", String(check.total));
    output.setAttribute("data-leaf-bytes", String(check.leafBytes));
    output.setAttribute("data-leaves", String(check.leaves));
    output.setAttribute("data-canvas-area", String(WIDTH * HEIGHT));
    output.setAttribute("data-leaf-area", String(check.leafArea));
    output.setAttribute("data-max-area-error", String(check.maxError));
    output.setAttribute("data-resources", String(resources.length));
    output.setAttribute("data-violations", String(violations.length));
    output.textContent = resources.concat(violations).join("\n");
  }

  function draw() {
    var map = document.getElementById("treemap");
    var data = JSON.parse(document.getElementById("kerf-data").textContent);
    check.total = data.total;
    var canvas = WIDTH * HEIGHT;
    var hue = 0;
    // Every file counts, those of no size (and so no rectangle) too.
    data.packages.forEach(function (pkg) {
      pkg.slices.forEach(function (slice) {
        slice.files.forEach(function (file) {
          check.leaves += 1;
          check.leafBytes += file[1];
        });
      });
    });
    squarify(data.packages, 0, 0, WIDTH, HEIGHT).forEach(function (placed) {
      var pkg = placed[0];
      var color = hue;
      hue = (hue + 137.5) % 360;
      squarify(pkg.slices, placed[1], placed[2], placed[3], placed[4]).forEach(function (slicePlaced, index) {
        var slice = slicePlaced[0];
        var light = 42 + (index % 4) * 6;
        var files = slice.files.map(function (file) { return { path: file[0], bytes: file[1] }; });
        squarify(files, slicePlaced[1], slicePlaced[2], slicePlaced[3], slicePlaced[4]).forEach(function (filePlaced) {
          var file = filePlaced[0];
          var element = box(map, "file", filePlaced[1], filePlaced[2], filePlaced[3], filePlaced[4]);
          element.style.background = "hsl(" + color + ", 55%, " + light + "%)";
          element.title = file.path + "\n" + size(file.bytes) + " (" + file.bytes + " bytes)\n" + slice.name;
          var area = filePlaced[3] * filePlaced[4];
          check.leafArea += area;
          check.maxError = Math.max(check.maxError, Math.abs(area - canvas * file.bytes / data.total));
        });
        box(map, "slice", slicePlaced[1], slicePlaced[2], slicePlaced[3], slicePlaced[4]);
      });
      var outline = box(map, "package", placed[1], placed[2], placed[3], placed[4]);
      if (placed[3] > 60 && placed[4] > 30) {
        var label = box(map, "label", placed[1], placed[2], placed[3], Math.min(placed[4], 40));
        var name = document.createElement("b");
        name.textContent = pkg.name;
        label.appendChild(name);
        label.appendChild(document.createTextNode(size(pkg.bytes)));
      }
      outline.title = pkg.name + ": " + size(pkg.bytes);
    });
    check.laidOut = true;
    record();
  }

  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("load", record);
})();
