// What the pages of `chainrule serve` share: the socket, the graph, the step table and the
// reading of the values box (the formula box loads this file too).
// Text from the server goes on the page through textContent only. The graph is Graphviz's SVG
// (its labels escaped by Graphviz); it is parsed as SVG, and the page's Content-Security-Policy
// runs no script that could hide in it.
"use strict";
window.chainruleClass = (function () {
  const $ = (id) => document.getElementById(id);

  // Connect to `path`, call onMessage(obj) for each message, reconnect after a pause if it drops.
  function connect(path, onOpen, onMessage) {
    const pill = $("connection");
    let socket = null;
    let stopped = false;
    function open() {
      socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      socket.onopen = () => {
        pill.textContent = "live";
        pill.className = "pill live";
        onOpen();
      };
      socket.onmessage = (event) => onMessage(JSON.parse(event.data));
      socket.onclose = (event) => {
        pill.textContent = "disconnected";
        pill.className = "pill lost";
        if (event.code === 1008) stopped = true; // refused by the server: trying again would not help
        if (!stopped) setTimeout(open, 2000);
      };
    }
    open();
    return { send: (obj) => socket && socket.readyState === 1 && socket.send(JSON.stringify(obj)) };
  }

  let shownLesson = -1;
  // Fetch the lesson's picture once per loaded formula.
  async function loadGraph(lesson) {
    if (lesson === shownLesson) return;
    shownLesson = lesson;
    const box = $("graph");
    box.textContent = "";
    if (!lesson) return;
    const response = await fetch("/class/graph.svg?lesson=" + lesson);
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg") return;
    for (const bad of svg.querySelectorAll("script, foreignObject")) bad.remove();
    box.appendChild(document.importNode(svg, true));
  }

  function highlight(node) {
    for (const old of document.querySelectorAll("#graph .now")) old.classList.remove("now");
    const box = document.querySelector(`#graph [id="v${node}"]`);
    if (box) {
      box.classList.add("now");
      // On a phone the graph is wider than the screen: bring the node of this step into view.
      const graph = $("graph");
      const left = box.getBoundingClientRect().left - graph.getBoundingClientRect().left + graph.scrollLeft;
      graph.scrollLeft = Math.max(0, left - graph.clientWidth / 2);
    }
  }

  // The step table: every step up to the current one, with the gradients known so far.
  function paintSteps(view) {
    const body = document.querySelector("#steps tbody");
    body.textContent = "";
    view.steps.forEach((step, k) => {
      const row = document.createElement("tr");
      if (k === view.step) row.className = "now";
      const cells = [String(k + 1), step.name, step.formula, step.grad === null ? "?" : step.grad];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      }
      body.appendChild(row);
    });
    const current = view.steps[view.step];
    if (current) highlight(current.node);
    $("position").textContent = view.total ? `Step ${view.step + 1} of ${view.total}` : "";
    $("formula" + (document.body.classList.contains("teacher") ? "shown" : "")).textContent = view.formula;
  }

  // "x=1.5, w=0.8" as {x: 1.5, w: 0.8}, for POST /api/graph and the teacher's load.
  function readValues(text) {
    const at = {};
    for (const part of text.split(",")) {
      if (!part.trim()) continue;
      const [name, value] = part.split("=");
      // A value that is not a number goes as typed, so the server's refusal can quote it.
      const number = value === undefined || !value.trim() ? NaN : Number(value.trim());
      at[name.trim()] = Number.isFinite(number) ? number : (value || "").trim();
    }
    return at;
  }

  return { $, connect, loadGraph, paintSteps, readValues };
})();
