// What the formula box and the teacher's page share: reading the values box, and
// wording a formula error with a caret under its column. Both pages load this file
// before their own script; everything is put on the page as text, never as markup.
"use strict";
window.chainruleForms = (function () {
  /** "x=1.5, w=0.8" -> {x: 1.5, w: 0.8}. A value that is not a number goes as typed,
   *  so the server's refusal can quote it. */
  function readValues(text) {
    const at = {};
    for (const part of text.split(",")) {
      if (!part.trim()) continue;
      const [name, value] = part.split("=");
      const number = value === undefined || !value.trim() ? NaN : Number(value.trim());
      at[name.trim()] = Number.isFinite(number) ? number : (value || "").trim();
    }
    return at;
  }

  /** The server's {error, line, column, text} as the command prints it: the message, the
   *  formula's line, and a caret under the column (tabs kept, so the caret lines up). */
  function errorText(body) {
    let text = body.error;
    if (body.line) {
      text = `error in the formula at line ${body.line}, column ${body.column}: ${body.error}`;
      if (body.text) {
        const pad = Array.from(body.text.slice(0, body.column - 1)).map((c) => (c === "\t" ? "\t" : " ")).join("");
        text += `\n    ${body.text}\n    ${pad}^`;
      }
    }
    return text;
  }

  return { readValues, errorText };
})();
