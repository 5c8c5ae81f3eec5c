// A student's page: join, follow the teacher's step, answer the open question.
"use strict";
(function () {
  const { $, connect, loadGraph, paintSteps } = window.chainruleClass;
  const KEY = "chainrule-class-token";
  let joined = false;
  let lastQuestion = 0;

  const link = connect("/ws/class", () => {
    const token = sessionStorage.getItem(KEY);
    if (token) link.send({ type: "join", token });
    else $("join").hidden = false;
  }, receive);

  $("join").addEventListener("submit", (event) => {
    event.preventDefault();
    link.send({ type: "join", name: $("name").value });
  });

  $("answer").addEventListener("submit", (event) => {
    event.preventDefault();
    link.send({ type: "answer", value: $("value").value });
  });

  function receive(message) {
    if (message.type === "joined") {
      joined = true;
      sessionStorage.setItem(KEY, message.token);
      $("join").hidden = true;
    } else if (message.type === "notice") {
      $("notice").textContent = message.text;
    } else if (message.type === "view" && joined) {
      paint(message);
    }
  }

  function paint(view) {
    $("waiting").hidden = !!view.lesson;
    $("lesson").hidden = !view.lesson;
    loadGraph(view.lesson);
    paintSteps(view);
    const q = view.question;
    $("question").hidden = !q;
    if (!q) return;
    if (q.number !== lastQuestion) {
      lastQuestion = q.number;
      $("value").value = "";
      $("notice").textContent = "";
    }
    $("asks").textContent = `${q.asks} = ?`;
    $("answer").hidden = !(q.state === "open" && !q.answered);
    const feedback = $("feedback");
    feedback.className = "feedback";
    if (q.state === "revealed") {
      $("asks").textContent = `${q.asks} = ${q.right}`;
      if (q.answered) {
        feedback.textContent = q.correct ? `Right: you said ${q.answer}.` : `Not quite: you said ${q.answer}.`;
        feedback.className = "feedback " + (q.correct ? "right" : "wrong");
      } else {
        feedback.textContent = "You did not answer this one.";
      }
    } else if (q.answered) {
      feedback.textContent = `You said ${q.answer}. Wait for the reveal.`;
    } else {
      feedback.textContent = q.state === "open" ? "" : "The question is closed.";
    }
  }
})();
