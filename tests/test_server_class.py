"""The class session: its rules in plain Python, then 200 students and a set of hostile clients on loopback.

The load test is bounded: 200 WebSocket students, one answer each, every wait
under a timeout, the whole run under two minutes. It reports how long the
teacher's view took to show the last answer (printed; speed is not asserted).
Right answers come from the closed form of the course example's gradient.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
import socket
import time
import urllib.request

import pytest
from chainrule.viz.classroom import ClassError, Classroom, clean_name, read_answer, spreadsheet_safe
from chainrule.viz.live import lesson_for
from chainrule.viz.server import Limits
from test_server import Running
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chainrule import autograd

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}
STUDENTS = 200


def course_grads() -> dict[str, float]:
    """dL/d(node) for the course example, by hand: L = (y - h)^2, h = sigmoid(z), z = w*x + b."""
    x, w, b, y = AT["x"], AT["w"], AT["b"], AT["y"]
    h = 1 / (1 + math.exp(-(w * x + b)))
    dh = -2 * (y - h)
    dz = dh * h * (1 - h)
    return {"L": 1.0, "h": dh, "z": dz}


def step_of(name: str) -> int:
    lesson = lesson_for(COURSE, AT)
    return next(k for k, info in enumerate(lesson.steps) if info.name == name)


# --- the rules, without a server ------------------------------------------------------------


def test_a_question_asks_for_the_gradient_at_the_step_and_counts_each_student_once():
    room = Classroom()
    room.load(lesson_for(COURSE, AT))
    room.go(step_of("z"))
    a, b, c = room.join(name="Ada"), room.join(), room.join(name="Cy")
    question = room.open_question()
    assert question.right == pytest.approx(course_grads()["z"], rel=1e-12)
    room.answer(a, str(course_grads()["z"]))
    room.answer(b, "0.5")
    with pytest.raises(ClassError, match="already answered"):
        room.answer(b, str(course_grads()["z"]))
    with pytest.raises(ClassError, match="not a number"):
        room.answer(c, "__import__('os')")
    view = room.teacher_view()["question"]
    assert (view["answered"], view["rightCount"], view["commonWrong"]) == (2, 1, "0.5")
    assert sorted((bar["value"], bar["count"], bar["right"]) for bar in view["bars"]) == sorted(
        [(f"{course_grads()['z']:.4g}", 1, True), ("0.5", 1, False)])
    room.close_question()
    with pytest.raises(ClassError, match="no question is open"):
        room.answer(c, "1")
    # a student's view: their own answer, nobody else's name or answer, and no right value before the reveal
    seen = json.dumps(room.student_view(b))
    assert "Ada" not in seen and "Cy" not in seen and "right" not in room.student_view(b)["question"]
    assert room.student_view(b)["steps"][-1]["grad"] is None
    room.reveal()
    assert room.student_view(a)["question"]["correct"] is True
    assert room.student_view(b)["question"]["correct"] is False
    assert room.student_view(c)["question"]["answered"] is False
    rows = list(csv.reader(io.StringIO(room.csv_text())))
    assert rows[0] == ["question", "prompt", "student", "answer", "right", "time"]
    assert [(r[2], r[4]) for r in rows[1:]] == [("Ada", "right"), ("s2", "wrong")]


def test_the_class_refuses_what_it_must():
    room = Classroom(max_students=2, max_answers=1)
    with pytest.raises(ClassError, match="no formula"):
        room.open_question()
    room.load(lesson_for(COURSE, AT))
    with pytest.raises(ClassError, match="no step"):
        room.go(99)
    with pytest.raises(ClassError, match="no question"):
        room.reveal()
    a, b = room.join(), room.join()
    with pytest.raises(ClassError, match="full"):
        room.join()
    assert room.join(a.token) is a  # coming back with the token is the same student
    room.open_question()
    room.answer(a, "1")
    with pytest.raises(ClassError, match="all the answers"):
        room.answer(b, "1")
    room.reveal()
    with pytest.raises(ClassError, match="revealed"):
        room.open_question()


@pytest.mark.parametrize("text, value", [("0.25", 0.25), (" -1.5e-3 ", -1.5e-3), ("\u22122", -2.0), (3, 3.0)])
def test_answers_are_read_as_numbers(text, value):
    assert read_answer(text) == value


@pytest.mark.parametrize("text", ["1/4", "nan", "inf", "", None, True, [1], "1" * 50])
def test_anything_else_is_not_an_answer(text):
    with pytest.raises(ClassError):
        read_answer(text)


def test_names_are_cleaned_and_the_csv_defuses_formulas():
    assert clean_name("Ada\x1b[31m\u202e") == "Ada[31m"
    assert len(clean_name("x" * 500)) == 40
    assert clean_name({"not": "text"}) == ""
    assert spreadsheet_safe('=HYPERLINK("http://x","y")').startswith("'=")
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("Ada") == "Ada"


# --- a live session -------------------------------------------------------------------------


async def receive(ws, want, timeout: float = 30.0) -> dict:
    """The next message for which ``want(message)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out waiting for a message")
        message = json.loads(await asyncio.wait_for(ws.recv(), left))
        if want(message):
            return message


def is_view(**fields):
    def test(message):
        return message.get("type") == "view" and all(message.get(k) == v for k, v in fields.items())
    return test


def question_is(state: str, **more):
    def test(message):
        q = message.get("question") if message.get("type") == "view" else None
        return bool(q) and q["state"] == state and all(q.get(k) == v for k, v in more.items())
    return test


async def hostile_clients(ws_base: str, port: int, secret: str) -> dict:
    """Every kind of bad client we can think of; returns how each was answered."""
    seen = {}

    async def garbage():
        async with connect(ws_base + "/ws/class") as ws:
            for _ in range(20):
                await ws.send("\x00{not json")
            try:
                await asyncio.wait_for(receive(ws, lambda m: False), 10)
            except ConnectionClosed as e:
                seen["garbage"] = e.rcvd.code if e.rcvd else None

    async def binary():
        async with connect(ws_base + "/ws/class") as ws:
            for _ in range(12):
                await ws.send(b"\xff\xfe" * 10)
            try:
                await asyncio.wait_for(receive(ws, lambda m: False), 10)
            except ConnectionClosed as e:
                seen["binary"] = e.rcvd.code if e.rcvd else None

    async def oversize():
        async with connect(ws_base + "/ws/class") as ws:
            await ws.send(json.dumps({"type": "join", "name": "x" * 5_000}))
            try:
                await asyncio.wait_for(receive(ws, lambda m: False), 10)
            except ConnectionClosed as e:
                seen["oversize"] = e.rcvd.code if e.rcvd else None

    async def flood():
        async with connect(ws_base + "/ws/class") as ws:
            await ws.send(json.dumps({"type": "join", "name": "flood"}))
            try:
                for _ in range(500):
                    await ws.send(json.dumps({"type": "answer", "value": 1}))
                await asyncio.wait_for(receive(ws, lambda m: False), 10)
            except ConnectionClosed as e:
                seen["flood"] = e.rcvd.code if e.rcvd else None

    async def impostor():
        # a student asking for the teacher's actions is told no, and nothing changes
        async with connect(ws_base + "/ws/class") as ws:
            await ws.send(json.dumps({"type": "join", "name": "<img src=x onerror=alert(1)>"}))
            await receive(ws, lambda m: m.get("type") == "joined")
            notes = []
            for kind in ("go", "reveal", "load", "close"):
                await ws.send(json.dumps({"type": kind, "step": 0, "formula": "x", "at": {}}))
                notes.append((await receive(ws, lambda m: m.get("type") == "notice"))["text"])
            seen["impostor"] = notes
        try:
            wrong = secret[:-1] + ("y" if secret.endswith("x") else "x")  # one letter off, never the secret
            async with connect(ws_base + "/ws/teach/" + wrong):
                seen["wrong secret"] = "accepted"
        except InvalidStatus as e:
            seen["wrong secret"] = e.response.status_code

    def half_handshake():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /ws/class HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
        seen["half handshake"] = "sent"

    def mid_frame():
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /ws/class HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            reply = s.recv(1024)
            # a masked text frame that announces 100 bytes, then 10 bytes, then the connection is gone
            s.sendall(bytes([0x81, 0x80 | 100]) + b"\x01\x02\x03\x04" + b"x" * 10)
        seen["mid frame"] = reply.split(b"\r\n")[0].decode()

    await asyncio.gather(garbage(), binary(), oversize(), flood(), impostor(),
                         asyncio.to_thread(half_handshake), asyncio.to_thread(mid_frame))
    return seen


async def a_class_of(n: int, base: str, port: int, secret: str) -> dict:
    ws_base = base.replace("http://", "ws://")
    grads = course_grads()
    step = step_of("z")
    async with connect(f"{ws_base}/ws/teach/{secret}") as teacher:
        await teacher.send(json.dumps({"type": "load", "formula": COURSE, "at": AT}))
        await receive(teacher, is_view(lesson=1))
        await teacher.send(json.dumps({"type": "go", "step": step}))
        await receive(teacher, is_view(step=step))

        students = [await connect(f"{ws_base}/ws/class") for _ in range(n)]
        try:
            for i, ws in enumerate(students):
                await ws.send(json.dumps({"type": "join", "name": f"student {i}"}))
            await asyncio.gather(*(receive(ws, is_view(step=step)) for ws in students))
            await receive(teacher, is_view(students=n))

            await teacher.send(json.dumps({"type": "open"}))
            await asyncio.gather(*(receive(ws, question_is("open")) for ws in students))

            hostile = asyncio.create_task(hostile_clients(ws_base, port, secret))
            right = repr(grads["z"])
            answers = [right if i % 2 == 0 else ("0.5" if i % 4 == 1 else "-0.25") for i in range(n)]
            await asyncio.gather(*(ws.send(json.dumps({"type": "answer", "value": a}))
                                   for ws, a in zip(students, answers, strict=True)))
            last_answer = time.monotonic()
            # the flooder among the hostile clients answers once too, before or after the class:
            # the teacher's view may show n or n + 1 answers, so wait for at least n
            view = await receive(teacher, lambda m: question_is("open")(m) and m["question"]["answered"] >= n)
            delay = time.monotonic() - last_answer
            # each student sees their own answer acknowledged; a second answer is refused
            await asyncio.gather(*(receive(ws, question_is("open", answered=True)) for ws in students))
            await students[0].send(json.dumps({"type": "answer", "value": "7"}))
            refusal = await receive(students[0], lambda m: m.get("type") == "notice")
            seen = await asyncio.wait_for(hostile, 60)

            await teacher.send(json.dumps({"type": "reveal"}))
            revealed = await asyncio.gather(*(receive(ws, question_is("revealed")) for ws in students))
            after = await receive(teacher, question_is("revealed"))
        finally:
            await asyncio.gather(*(ws.close() for ws in students))
    return {"view": view, "delay": delay, "refusal": refusal, "hostile": seen, "revealed": revealed,
            "after": after, "answers": answers}


def test_two_hundred_students_and_hostile_clients(capsys):
    running = Running(classroom=True, limits=Limits(connections_per_address=STUDENTS + 50,
                                                     students_per_address=STUDENTS + 50))
    try:
        result = asyncio.run(asyncio.wait_for(a_class_of(STUDENTS, running.base, running.port, running.secret), 120))
        with urllib.request.urlopen(f"{running.base}/teach/{running.secret}/results.csv", timeout=30) as response:
            rows = list(csv.DictReader(io.StringIO(response.read().decode("utf-8"))))
    finally:
        running.stop()
    with capsys.disabled():
        print(f"\n[load] {STUDENTS} students: the teacher's view showed all answers "
              f"{result['delay'] * 1000:.0f} ms after the last was sent; hostile clients: {result['hostile']}")

    z = course_grads()["z"]
    q = result["view"]["question"]
    flooder = q["answered"] - STUDENTS  # 1 if the flooder's one answer was counted before this view
    assert flooder in (0, 1) and q["rightCount"] == STUDENTS // 2
    bars = {bar["value"]: (bar["count"], bar["right"]) for bar in q["bars"]}
    assert bars == {f"{z:.4g}": (100, True), "0.5": (50, False), "-0.25": (50, False)} | (
        {"1": (1, False)} if flooder else {})
    assert q["commonWrong"] in ("0.5", "-0.25")
    assert result["refusal"]["text"] == "you have already answered this question"
    # the flooder's 500 answers count once, as its one answer; the impostor added nothing
    assert result["after"]["question"]["answered"] == STUDENTS + 1

    for i, view in enumerate(result["revealed"]):
        assert view["question"]["right"] == f"{z:.4g}"
        assert view["question"]["correct"] is (i % 2 == 0)

    # every answer exactly once in the CSV, with the name typed and the verdict
    assert [row["answer"] for row in rows if row["student"] == "flood"] == ["1.0"]
    rows = [row for row in rows if row["student"] != "flood"]
    assert len(rows) == STUDENTS
    assert sorted(row["student"] for row in rows) == sorted(f"student {i}" for i in range(STUDENTS))
    for row in rows:
        i = int(row["student"].split()[1])
        assert float(row["answer"]) == float(result["answers"][i])
        assert row["right"] == ("right" if i % 2 == 0 else "wrong")

    hostile = result["hostile"]
    assert hostile["garbage"] == 1003 and hostile["binary"] == 1003
    assert hostile["oversize"] in (1009, None)  # refused by uvicorn's frame limit or by ours
    assert hostile["flood"] == 1008
    assert hostile["impostor"] == ["unknown request"] * 4
    assert hostile["wrong secret"] == 403
    assert hostile["mid frame"] == "HTTP/1.1 101 Switching Protocols"


async def small_session(base: str, secret: str) -> dict:
    ws_base = base.replace("http://", "ws://")
    seen = {}
    async with connect(f"{ws_base}/ws/teach/{secret}") as teacher:
        # a formula the parser refuses: the teacher is told where, the class is untouched
        await teacher.send(json.dumps({"type": "load", "formula": "z = w*x +\nL = z**2", "at": {"w": 1, "x": 2}}))
        seen["error"] = await receive(teacher, lambda m: m.get("type") == "error")
        await teacher.send(json.dumps({"type": "load", "formula": "x*x", "at": {"x": 3}}))
        await receive(teacher, is_view(lesson=1))
        async with connect(f"{ws_base}/ws/teach/{secret}") as second:  # a second tab: told not to load again
            seen["second hello"] = await receive(second, lambda m: m.get("type") == "hello")
        tokens = []
        for _ in range(2):
            async with connect(f"{ws_base}/ws/class") as ws:
                await ws.send(json.dumps({"type": "join"}))
                tokens.append((await receive(ws, lambda m: m.get("type") == "joined"))["token"])
        async with connect(f"{ws_base}/ws/class") as ws:  # a third new student from the same address
            await ws.send(json.dumps({"type": "join"}))
            try:
                await receive(ws, lambda m: False, timeout=10)
            except ConnectionClosed as e:
                seen["third"] = (e.rcvd.code, e.rcvd.reason)
        async with connect(f"{ws_base}/ws/class") as ws:  # the first, coming back: still welcome
            await ws.send(json.dumps({"type": "join", "token": tokens[0]}))
            seen["back"] = (await receive(ws, lambda m: m.get("type") == "joined"))["id"]
        seen["students"] = (await receive(teacher, is_view(students=2)))["students"]
    return seen


def test_teacher_errors_and_students_per_address():
    running = Running(classroom=True, limits=Limits(students_per_address=2))
    try:
        seen = asyncio.run(asyncio.wait_for(small_session(running.base, running.secret), 60))
    finally:
        running.stop()
    with pytest.raises(autograd.ExpressionError) as e:
        autograd.parse("z = w*x +\nL = z**2", w=1, x=2)
    assert (seen["error"]["line"], seen["error"]["column"]) == (e.value.line, e.value.column)
    assert seen["error"]["text"] == "z = w*x +"
    assert seen["third"] == (1008, "2 students have joined from this device already")
    assert seen["back"] == "s1"
    assert seen["second hello"]["loaded"] is True
    assert seen["students"] == 2
