/* chainrule's stepper page: what its scripts share, loaded before all of them.
 *
 * window.chainrulePage.data is the page's data as Python wrote it (the JSON block
 * with id "data"), read once: every script works on this one object, so a number
 * the what-if panel changes is the number every view shows. Python writes inf and
 * nan as {"float": "inf"}, since JSON has no such numbers; they are revived here.
 * window.chainrulePage.el builds an element from text only, never from markup.
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

  const block = document.getElementById("data");
  return {data: block ? JSON.parse(block.textContent, revive) : null, el: el};
})();
