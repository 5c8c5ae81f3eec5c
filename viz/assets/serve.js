// The formula box: send the formula to POST /api/graph, show what comes back.
// Everything the server sends is put on the page as text (textContent) or as an
// image (the SVG as a data: URL), never as markup.
"use strict";
(function () {
  const { $, readValues } = window.chainruleClass;
  let paths = {};

  function showError(body) {
    const box = $("error");
    let text = body.error;
    if (body.line) {
      text = `error in the formula at line ${body.line}, column ${body.column}: ${body.error}`;
      if (body.text) {
        const pad = Array.from(body.text.slice(0, body.column - 1)).map((c) => (c === "\t" ? "\t" : " ")).join("");
        text += `\n    ${body.text}\n    ${pad}^`;
      }
    }
    box.textContent = text;
    box.hidden = false;
  }

  function pageUrl(download) {
    const query = new URLSearchParams({ formula: $("formula").value, at: $("at").value });
    if (download) query.set("download", "1");
    return "/page?" + query.toString();
  }

  function showPaths() {
    $("paths").textContent = paths[$("wrt").value] || "(the formula has no inputs)";
  }

  async function submit(event) {
    event.preventDefault();
    $("status").textContent = "working\u2026";
    $("error").hidden = true;
    let response, body;
    try {
      response = await fetch("/api/graph", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ formula: $("formula").value, at: readValues($("at").value) }),
      });
      body = await response.json();
    } catch (e) {
      $("status").textContent = "the server did not answer";
      return;
    }
    $("status").textContent = "";
    if (!response.ok) {
      showError(body);
      $("results").hidden = true;
      $("download").hidden = true;
      return;
    }
    $("graphimg").src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(body.svg);
    $("forward").textContent = body.forward;
    $("backward").textContent = body.backward;
    $("check").textContent = body.check || "(no inputs to check)";
    paths = body.paths;
    const wrt = $("wrt");
    wrt.textContent = "";
    for (const name of Object.keys(paths)) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = "d" + body.output + "/d" + name;
      wrt.appendChild(option);
    }
    showPaths();
    $("stepper").src = pageUrl(false);
    $("download").href = pageUrl(true);
    $("download").hidden = false;
    $("results").hidden = false;
    $("status").textContent = `${body.nodes.length} nodes, ${body.steps} backward steps`;
  }

  $("box").addEventListener("submit", submit);
  $("wrt").addEventListener("change", showPaths);
})();
