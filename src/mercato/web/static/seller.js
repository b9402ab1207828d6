/* Seller workbench: confirmations, the title counter, image ordering and the SKU matrix.
   The server renders every control and the SKU rows it knows about; this script only
   rebuilds the rows when the seller ticks sale values, keeping what was already typed. */
(function () {
  "use strict";

  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  // Forms that ask first (delete an item, a category).
  each("form[data-confirm]", function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // Character counters: <input data-counter="id-of-counter" data-max="60">.
  each("[data-counter]", function (input) {
    var counter = document.getElementById(input.getAttribute("data-counter"));
    var max = input.getAttribute("data-max");
    function update() {
      var n = Array.from(input.value).length;
      counter.textContent = n + "/" + max;
      counter.classList.toggle("over", n > Number(max));
    }
    input.addEventListener("input", update);
    update();
  });

  // Images: up / down / remove. The order of the hidden inputs is the order saved.
  var imageList = document.getElementById("image-list");
  if (imageList) {
    imageList.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var li = button.closest("li");
      if (button.hasAttribute("data-remove")) {
        li.remove();
      } else if (button.getAttribute("data-move") === "-1" && li.previousElementSibling) {
        imageList.insertBefore(li, li.previousElementSibling);
      } else if (button.getAttribute("data-move") === "1" && li.nextElementSibling) {
        imageList.insertBefore(li.nextElementSibling, li);
      }
    });
  }

  // The SKU matrix.
  var matrix = document.getElementById("sku-matrix");
  if (!matrix) return;
  var tbody = matrix.querySelector("tbody");
  var props = Array.prototype.slice.call(document.querySelectorAll(".sale-prop[data-pid]"));
  var emptyNote = document.getElementById("sku-empty");
  var bulk = document.getElementById("bulk-fill");
  var errorsEl = document.getElementById("sku-errors");
  var errors = errorsEl ? JSON.parse(errorsEl.textContent || "{}") : {};
  var FIELDS = ["price", "quantity", "outer_id"];
  var typed = {}; // properties -> {price, quantity, outer_id}, kept across rebuilds

  function remember() {
    each("tr[data-properties]", function (tr) {
      var values = {};
      FIELDS.forEach(function (f) {
        var input = tr.querySelector('input[name$="-' + f + '"]');
        values[f] = input ? input.value : "";
      });
      typed[tr.getAttribute("data-properties")] = values;
    }, tbody);
  }

  function chosenColumns() {
    var columns = [];
    for (var i = 0; i < props.length; i++) {
      var pid = Number(props[i].getAttribute("data-pid"));
      var values = [];
      each("input[type=checkbox]:checked", function (box) {
        values.push({ pid: pid, vid: Number(box.value), name: box.getAttribute("data-name") });
      }, props[i]);
      if (!values.length) return [];
      columns.push(values);
    }
    return columns;
  }

  function product(columns) {
    return columns.reduce(function (rows, column) {
      var out = [];
      rows.forEach(function (row) {
        column.forEach(function (value) { out.push(row.concat([value])); });
      });
      return out;
    }, [[]]);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function cell(i, field, value, message, attrs) {
    var td = el("td");
    var input = el("input", Object.assign({ name: "sku-" + i + "-" + field }, attrs));
    input.value = value || "";
    td.appendChild(input);
    if (message) td.appendChild(el("em", { class: "error", role: "alert" }, message));
    return td;
  }

  function rebuild() {
    remember();
    var columns = chosenColumns();
    var combos = columns.length ? product(columns) : [];
    tbody.textContent = "";
    combos.forEach(function (combo, i) {
      var properties = combo.slice()
        .sort(function (a, b) { return a.pid - b.pid; })
        .map(function (v) { return v.pid + ":" + v.vid; })
        .join(";");
      var values = typed[properties] || {};
      var rowErrors = errors[properties] || {};
      var tr = el("tr", { "data-properties": properties });
      if (Object.keys(rowErrors).length) tr.className = "has-error";
      combo.forEach(function (v) { tr.appendChild(el("td", {}, v.name)); });
      var priceCell = cell(i, "price", values.price, rowErrors.price,
        { type: "text", inputmode: "decimal", size: "7", "aria-label": "price 价格" });
      priceCell.insertBefore(
        el("input", { type: "hidden", name: "sku-" + i + "-properties", value: properties }),
        priceCell.firstChild);
      tr.appendChild(priceCell);
      tr.appendChild(cell(i, "quantity", values.quantity, rowErrors.quantity,
        { type: "number", min: "0", "aria-label": "stock 库存" }));
      tr.appendChild(cell(i, "outer_id", values.outer_id, rowErrors.outer_id || rowErrors.properties,
        { type: "text", maxlength: "64", size: "10", "aria-label": "outer id 商家编码" }));
      tbody.appendChild(tr);
    });
    if (emptyNote) emptyNote.hidden = combos.length > 0;
    if (bulk) bulk.hidden = combos.length === 0;
  }

  props.forEach(function (fieldset) { fieldset.addEventListener("change", rebuild); });

  var apply = document.getElementById("bulk-apply");
  if (apply) {
    apply.addEventListener("click", function () {
      var price = document.getElementById("bulk-price").value.trim();
      var quantity = document.getElementById("bulk-quantity").value.trim();
      each("tr[data-properties]", function (tr) {
        if (price) tr.querySelector('input[name$="-price"]').value = price;
        if (quantity) tr.querySelector('input[name$="-quantity"]').value = quantity;
      }, tbody);
    });
  }
})();
