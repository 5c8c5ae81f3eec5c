/* chainrule's stepper page: what its scripts share, loaded before all of them.
 *
 * window.chainrulePage.data is the page's data as Python wrote it (the JSON block
 * with id "data"), read once: every script works on this one object, so a number
 * the what-if panel changes is the number every view shows. Python writes inf and
 * nan as {"float": "inf"}, since JSON has no such numbers; they are revived here.
 * window.chainrulePage.el builds an element from text only, never from markup, and
 * window.chainrulePage.gformat(x, digits) writes a number as Python's format(x, ".{digits}g").
 */
window.chainrulePage = (function () {
  "use strict";

  function revive(key, value) {
    if (value !== null && typeof value === "object" && !Array.isArray(value) &&
        typeof value.float === "string" && Object.keys(value).length === 1) {
      return {inf: Infinity, "-inf": -Infinity}[value.float] ?? NaN;
    }
    return value;
  }

  /** el("p", {class: "x"}, "text", child, ...): attributes set one by one, strings as text nodes. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  /** x as Python's format(x, ".<digits>g") writes it: the pages' numbers agree with the graph and the tables. */
  function gformat(x, digits) {
    if (Number.isNaN(x)) return "nan";
    if (x === Infinity) return "inf";
    if (x === -Infinity) return "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const strip = (t) => (t.includes(".") ? t.replace(/0+$/, "").replace(/\.$/, "") : t);
    const [mantissa, exponent] = x.toExponential(digits - 1).split("e");
    const e = parseInt(exponent, 10);
    if (e < -4 || e >= digits) {
      return strip(mantissa) + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
    }
    return strip(x.toFixed(digits - 1 - e));
  }

  const block = document.getElementById("data");
  return {data: block ? JSON.parse(block.textContent, revive) : null, el: el, gformat: gformat};
})();
