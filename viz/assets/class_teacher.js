// The teacher's page: load a formula, move the step, open, close and reveal questions,
// watch the answers arrive. The secret is the last part of this page's address.
"use strict";
(function () {
  const { $, connect, loadGraph, paintSteps, readValues } = window.chainruleClass;
  const secret = location.pathname.split("/").filter(Boolean).pop();
  let view = null;

  $("qr").src = `/teach/${secret}/qr.svg`;
  $("csv").href = `/teach/${secret}/results.csv`;

  const link = connect("/ws/teach/" + secret, () => {}, receive);

  $("load").addEventListener("submit", (event) => {
    event.preventDefault();
    $("error").hidden = true;
    link.send({ type: "load", formula: $("formula").value, at: readValues($("at").value) });
  });
  $("prev").addEventListener("click", () => view && link.send({ type: "go", step: view.step - 1 }));
  $("next").addEventListener("click", () => view && link.send({ type: "go", step: view.step + 1 }));
  for (const kind of ["open", "close", "reveal"]) {
    $(kind).addEventListener("click", () => link.send({ type: kind }));
  }

  function receive(message) {
    if (message.type === "hello") {
      $("classurl").textContent = message.classUrl;
      // The first teacher page to connect puts the course's example on the screens; a second tab, or this one
      // coming back after a dropped connection, joins the session as it is.
      if (!message.loaded) link.send({ type: "load", formula: $("formula").value, at: readValues($("at").value) });
    } else if (message.type === "notice") {
      $("notice").textContent = message.text;
    } else if (message.type === "error") {
      let text = message.error;
      if (message.line) {
        const pad = " ".repeat(Math.max(0, message.column - 1));
        text = `line ${message.line}, column ${message.column}: ${message.error}\n${message.text}\n${pad}^`;
      }
      $("error").textContent = text;
      $("error").hidden = false;
    } else if (message.type === "view") {
      view = message;
      paint(message);
    }
  }

  function paint(v) {
    $("students").textContent = String(v.students);
    loadGraph(v.lesson);
    paintSteps(v);
    $("prev").disabled = v.step <= 0;
    $("next").disabled = v.step + 1 >= v.total;
    const q = v.question;
    $("question").hidden = !q;
    $("open").disabled = !!q && q.state !== "closed";
    $("close").disabled = !q || q.state !== "open";
    $("reveal").disabled = !q || q.state === "revealed";
    if (!q) return;
    $("notice").textContent = "";
    $("asks").textContent = `Question ${q.number}: ${q.asks} = ?`;
    $("qstate").textContent = q.state;
    $("answered").textContent = String(q.answered);
    $("rightcount").textContent = String(q.rightCount);
    $("rightvalue").textContent = q.rightValue;
    const most = Math.max(1, ...q.bars.map((b) => b.count));
    const box = $("histogram");
    box.textContent = "";
    for (const bar of q.bars) {
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = bar.right ? `${bar.value} \u2713` : bar.value;
      const track = document.createElement("div");
      const fill = document.createElement("div");
      fill.className = "bar" + (bar.right ? " right" : "");
      fill.style.width = `${(100 * bar.count) / most}%`;
      track.appendChild(fill);
      const n = document.createElement("span");
      n.className = "n";
      n.textContent = String(bar.count);
      box.append(label, track, n);
    }
    $("commonwrong").textContent = q.commonWrong === null ? "" : `Most common wrong answer: ${q.commonWrong}`;
  }
})();
