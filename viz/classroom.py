"""The classroom's state: one formula, the step the teacher is on, the questions and the answers.

This module knows nothing of the web. ``viz.server`` holds one ``Classroom``
and calls its methods when the teacher or a student sends something; each
method checks who may do what, so the rules of the session live here, in
plain Python a test can drive directly:

- only the teacher (who holds the secret URL) loads a formula, moves the step,
  opens, closes and reveals a question;
- a student joins (anonymously, or with a name they type), sees the current
  step, and answers the open question once;
- a student's view never holds another student's name or answer.

A question asks for the gradient arriving at the node of the current
backward step: at step k, ``dL/d(node)`` is the step's ``upstream``, which
the student can work out from the grads already shown and the local
derivatives on the edges. An answer is right within a relative 1e-3, as in
the stepper's quiz.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field

#: Relative error allowed in an answer, as in the stepper's quiz.
TOLERANCE = 1e-3
#: The histogram shows this many of the most common answers; the rest are one bar, "other".
BARS = 8
#: A typed name is cut to this many characters.
NAME_LENGTH = 40


class ClassError(ValueError):
    """Something a participant asked for that the session refuses; the message says why."""


@dataclass
class StepInfo:
    """What the class sees of one backward step: the node, how it was made, and its gradient."""

    node: int  # index of the node in topological order (its box in the SVG is v{node})
    name: str  # the node's display name
    formula: str  # how it was computed, e.g. "w * x"
    grad: float  # dL/d(node): the upstream gradient of this step, the question's right answer


@dataclass
class Lesson:
    """A loaded formula: its text, its values, the picture and the steps."""

    formula: str
    at: dict[str, float]
    output: str  # the output's display name (the L of dL/d...)
    svg: str  # the graph with values and local derivatives, no grads (those are the questions)
    steps: list[StepInfo]


@dataclass
class Student:
    id: str  # anonymous: s1, s2, ...
    name: str  # what they typed, possibly empty; only the teacher's CSV shows it
    token: str  # the secret their browser keeps, to come back as the same student


@dataclass
class Answer:
    student: str
    text: str  # the number as the server read it back (repr of the float)
    value: float
    right: bool
    time: float  # seconds since the epoch


@dataclass
class Question:
    number: int  # 1, 2, ... over the whole session
    lesson: int  # which loaded formula (1, 2, ...)
    step: int
    prompt: str
    right: float
    state: str = "open"  # open -> closed -> revealed (closed may open again)
    answers: dict[str, Answer] = field(default_factory=dict)  # student id -> their one answer


def is_right(answer: float, expected: float) -> bool:
    """Within a relative 1e-3 of the expected value (exactly, when that is 0)."""
    return abs(answer - expected) <= TOLERANCE * abs(expected)


def read_answer(text: object) -> float:
    """A student's answer as a finite float, or ClassError. Accepts "0.25", "-1e-3", "1/4" is refused."""
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ClassError("an answer is a number")
    if isinstance(text, str):
        text = text.strip().replace("\u2212", "-")  # a phone keyboard's minus sign
        if len(text) > 40:
            raise ClassError("that answer is too long for a number")
    try:
        value = float(text)
    except ValueError:
        raise ClassError("that is not a number (write it as 0.25 or -1.5e-3)") from None
    if not math.isfinite(value):
        raise ClassError("the answer must be a finite number")
    return value


def clean_name(name: object) -> str:
    """A typed name: text, control characters dropped, cut to NAME_LENGTH. Escaping happens where it is shown."""
    if not isinstance(name, str):
        return ""
    kept = "".join(c for c in name if c.isprintable())
    return kept.strip()[:NAME_LENGTH]


def number_text(x: float) -> str:
    """How a value is shown and grouped in the histogram: 4 significant digits."""
    return f"{x:.4g}"


class Classroom:
    """One class session. Every method is called from the server's single event loop, so no locks."""

    def __init__(self, max_students: int = 500, max_answers: int = 1_000):
        self.max_students = max_students
        self.max_answers = max_answers  # per question
        self.lesson: Lesson | None = None
        self.lessons = 0
        self.step = 0
        self.questions: list[Question] = []
        self.students: dict[str, Student] = {}  # token -> student

    # --- the teacher ---------------------------------------------------------------

    def load(self, lesson: Lesson) -> None:
        """Start on a new formula at its first step. Earlier questions stay, for the CSV."""
        self.lesson = lesson
        self.lessons += 1
        self.step = 0
        self._close_open()

    def go(self, step: int) -> None:
        """Move the class to ``step`` (0-based), closing an open question."""
        lesson = self._need_lesson()
        if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step < max(len(lesson.steps), 1):
            raise ClassError(f"there is no step {step!r}: this formula has {len(lesson.steps)}")
        if step != self.step:
            self._close_open()
            self.step = step

    def open_question(self) -> Question:
        """Ask for the gradient at the current step (or open its question again, if closed unrevealed)."""
        lesson = self._need_lesson()
        if not lesson.steps:
            raise ClassError("this formula has no backward steps to ask about")
        question = self.current_question()
        if question is None:
            info = lesson.steps[self.step]
            question = Question(
                number=len(self.questions) + 1, lesson=self.lessons, step=self.step,
                prompt=f"{lesson.formula} | step {self.step + 1}: d{lesson.output}/d{info.name}", right=info.grad,
            )
            self.questions.append(question)
        elif question.state == "revealed":
            raise ClassError("this question has been revealed; move to another step to ask again")
        question.state = "open"
        return question

    def close_question(self) -> None:
        question = self._need_question()
        if question.state == "open":
            question.state = "closed"

    def reveal(self) -> None:
        """Close the question and show everyone the right value and whether they had it."""
        question = self._need_question()
        question.state = "revealed"

    # --- the students ------------------------------------------------------------

    def join(self, token: object = None, name: object = "") -> Student:
        """The student whose browser holds ``token``, or a new anonymous one."""
        if isinstance(token, str) and token in self.students:
            student = self.students[token]
            typed = clean_name(name)
            if typed and typed != student.name:
                student.name = typed
            return student
        if len(self.students) >= self.max_students:
            raise ClassError(f"the class is full ({self.max_students} students)")
        student = Student(id=f"s{len(self.students) + 1}", name=clean_name(name), token=secrets.token_urlsafe(16))
        self.students[student.token] = student
        return student

    def knows(self, token: object) -> bool:
        """True when ``token`` is a student's who has joined before."""
        return isinstance(token, str) and token in self.students

    def answer(self, student: Student, text: object) -> Answer:
        """Record ``student``'s one answer to the open question."""
        question = self.current_question()
        if question is None or question.state != "open":
            raise ClassError("no question is open")
        if student.id in question.answers:
            raise ClassError("you have already answered this question")
        if len(question.answers) >= self.max_answers:
            raise ClassError("this question has all the answers it can take")
        value = read_answer(text)
        answer = Answer(student=student.id, text=repr(value), value=value, right=is_right(value, question.right),
                        time=time.time())
        question.answers[student.id] = answer
        return answer

    # --- what each side sees -------------------------------------------------------

    def current_question(self) -> Question | None:
        """The question asked at the current step of the current formula, if any."""
        for question in reversed(self.questions):
            if question.lesson == self.lessons and question.step == self.step:
                return question
        return None

    def common(self) -> dict:
        """What everyone sees: the formula, the picture's identity, the steps with the grads known so far."""
        lesson = self.lesson
        if lesson is None:
            return {"lesson": 0, "formula": "", "steps": [], "step": 0, "question": None}
        question = self.current_question()
        hidden = question is not None and question.state != "revealed"
        steps = []
        for k, info in enumerate(lesson.steps[: self.step + 1]):
            shown = not (k == self.step and hidden)
            steps.append({"node": info.node, "name": info.name, "formula": info.formula,
                          "grad": number_text(info.grad) if shown else None})
        view = {
            "lesson": self.lessons, "formula": lesson.formula, "output": lesson.output, "step": self.step,
            "total": len(lesson.steps), "steps": steps, "question": None,
        }
        if question is not None:
            view["question"] = {"number": question.number, "state": question.state,
                                "asks": f"d{lesson.output}/d{lesson.steps[question.step].name}"}
            if question.state == "revealed":
                view["question"]["right"] = number_text(question.right)
        return view

    def student_view(self, student: Student) -> dict:
        """The common view and this student's own answer; nothing about anyone else."""
        view = self.common()
        view["you"] = {"id": student.id, "name": student.name}
        question = self.current_question()
        if question is not None and view["question"] is not None:
            mine = question.answers.get(student.id)
            view["question"]["answered"] = mine is not None
            if mine is not None:
                view["question"]["answer"] = number_text(mine.value)
                if question.state == "revealed":
                    view["question"]["correct"] = mine.right
        return view

    def teacher_view(self) -> dict:
        """The common view, the right answer, and the spread of answers."""
        view = self.common()
        view["students"] = len(self.students)
        question = self.current_question()
        if self.lesson is not None and self.lesson.steps:
            view["right"] = number_text(self.lesson.steps[self.step].grad)
        if question is not None:
            view["question"].update(spread(question))
        return view

    def csv_text(self) -> str:
        """Every answer: question, student (name if typed, else the anonymous id), answer, right, time (UTC)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["question", "prompt", "student", "answer", "right", "time"])
        names = {s.id: s.name for s in self.students.values()}
        for question in self.questions:
            for answer in question.answers.values():
                who = names.get(answer.student) or answer.student
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(answer.time))
                stamp += f".{int(answer.time % 1 * 1000):03d}Z"
                writer.writerow([question.number, spreadsheet_safe(question.prompt), spreadsheet_safe(who),
                                 answer.text, "right" if answer.right else "wrong", stamp])
        return out.getvalue()

    # --- helpers ---------------------------------------------------------------------

    def _need_lesson(self) -> Lesson:
        if self.lesson is None:
            raise ClassError("no formula is loaded yet")
        return self.lesson

    def _need_question(self) -> Question:
        question = self.current_question()
        if question is None:
            raise ClassError("no question has been asked at this step")
        return question

    def _close_open(self) -> None:
        for question in self.questions:
            if question.state == "open":
                question.state = "closed"


def spread(question: Question) -> dict:
    """How many answered, and the histogram: the most common answers (4 digits), the right one marked."""
    # Grouped by the number as shown and by the verdict, so a bar never mixes right and wrong answers
    # (two answers can print alike at 4 digits and fall either side of the tolerance).
    counts = Counter((number_text(a.value), a.right) for a in question.answers.values())
    bars = [{"value": text, "count": n, "right": right} for (text, right), n in counts.most_common(BARS)]
    rest = sum(counts.values()) - sum(bar["count"] for bar in bars)
    if rest:
        bars.append({"value": "other", "count": rest, "right": False})
    wrong = [(n, text) for (text, right), n in counts.items() if not right]
    common_wrong = max(wrong)[1] if wrong else None
    right_count = sum(1 for a in question.answers.values() if a.right)
    return {"answered": len(question.answers), "rightCount": right_count, "bars": bars,
            "commonWrong": common_wrong, "rightValue": number_text(question.right)}


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab/CR) gets a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
