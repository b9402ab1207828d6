/* Item page: image gallery and SKU selector. The page embeds the SKUs as JSON
   ("pid:vid;pid:vid" -> {sku_id, price, quantity}); picking one value per sale property shows
   that SKU's price and stock and sets the add-to-cart form's sku_id, enabling its button.
   Values that lead to no SKU in stock are disabled. */
(function () {
  "use strict";

  // Gallery: clicking a thumbnail shows it as the major image.
  var major = document.getElementById("major-image");
  var thumbs = document.querySelectorAll(".thumbs .thumb");
  Array.prototype.forEach.call(thumbs, function (thumb) {
    thumb.addEventListener("click", function () {
      if (major) major.src = thumb.getAttribute("data-src");
      Array.prototype.forEach.call(thumbs, function (t) { t.classList.toggle("on", t === thumb); });
    });
  });

  var dataEl = document.getElementById("sku-data");
  var groups = Array.prototype.slice.call(document.querySelectorAll(".sku-prop[data-pid]"));
  var qty = document.getElementById("buy-quantity");
  var priceEl = document.getElementById("sku-price");
  var stockEl = document.getElementById("sku-stock");
  var hintEl = document.getElementById("sku-hint");
  var skuInput = document.getElementById("buy-sku");
  var buyButtons = Array.prototype.slice.call(document.querySelectorAll("button[data-buy]"));
  if (!dataEl || !groups.length) return;

  var skus = JSON.parse(dataEl.textContent || "{}");
  // Each SKU as {pid: vid} for matching against a partial choice.
  var parsed = Object.keys(skus).map(function (key) {
    var parts = {};
    key.split(";").forEach(function (pair) {
      var pv = pair.split(":");
      parts[pv[0]] = pv[1];
    });
    return { key: key, parts: parts, sku: skus[key] };
  });
  var chosen = {}; // pid -> vid

  function keyOf(choice) {
    return Object.keys(choice)
      .sort(function (a, b) { return Number(a) - Number(b); })
      .map(function (pid) { return pid + ":" + choice[pid]; })
      .join(";");
  }

  function inStockMatch(choice) {
    return parsed.some(function (p) {
      if (p.sku.quantity <= 0) return false;
      return Object.keys(choice).every(function (pid) { return p.parts[pid] === choice[pid]; });
    });
  }

  function setQuantityMax(max) {
    if (!qty) return;
    qty.max = String(Math.max(max, 1));
    qty.disabled = max <= 0;
    clampQuantity();
  }

  function clampQuantity() {
    if (!qty) return;
    var n = parseInt(qty.value, 10);
    var max = parseInt(qty.max, 10) || 1;
    if (isNaN(n) || n < 1) n = 1;
    if (n > max) n = max;
    qty.value = String(n);
  }

  function refresh() {
    groups.forEach(function (group) {
      var pid = group.getAttribute("data-pid");
      Array.prototype.forEach.call(group.querySelectorAll(".chip[data-vid]"), function (chip) {
        var vid = chip.getAttribute("data-vid");
        var trial = Object.assign({}, chosen);
        trial[pid] = vid;
        var ok = inStockMatch(trial);
        chip.disabled = !ok;
        chip.classList.toggle("off", !ok);
        chip.setAttribute("aria-pressed", chosen[pid] === vid ? "true" : "false");
      });
    });
    var missing = groups.filter(function (g) { return !chosen[g.getAttribute("data-pid")]; });
    var sku = missing.length ? null : skus[keyOf(chosen)];
    if (sku) {
      priceEl.textContent = sku.price;
      stockEl.textContent = "库存 Stock " + sku.quantity;
      hintEl.textContent = "";
      setQuantityMax(sku.quantity);
      if (skuInput) skuInput.value = String(sku.sku_id);
      buyButtons.forEach(function (b) { b.disabled = sku.quantity <= 0; });
    } else {
      priceEl.textContent = priceEl.getAttribute("data-default");
      stockEl.textContent = "库存 Stock " + stockEl.getAttribute("data-default");
      hintEl.textContent = "请选择 Please choose: " +
        missing.map(function (g) { return g.getAttribute("data-name"); }).join(" ");
      setQuantityMax(parseInt(stockEl.getAttribute("data-default"), 10) || 0);
      if (skuInput) skuInput.value = "";
      buyButtons.forEach(function (b) { b.disabled = true; });
    }
  }

  groups.forEach(function (group) {
    var pid = group.getAttribute("data-pid");
    group.addEventListener("click", function (event) {
      var chip = event.target.closest(".chip[data-vid]");
      if (!chip || chip.disabled) return;
      var vid = chip.getAttribute("data-vid");
      if (chosen[pid] === vid) delete chosen[pid];
      else chosen[pid] = vid;
      refresh();
    });
  });
  if (qty) qty.addEventListener("change", clampQuantity);
  refresh();
})();
