"""``chainrule serve``: the formula box, its JSON API, and the classroom, on Starlette and uvicorn.

Three things share one small web application:

- ``/``, the formula box: type a formula and its values; the server parses it
  with ``autograd.parse`` (the command's language and limits), runs the
  backward pass, draws the graph with Graphviz and answers with the same
  tables the command prints. ``/page`` gives the self-contained stepper page
  (``stepper_html``) for the same formula, to look at or download.
- ``POST /api/graph``, the same for scripts: ``{"formula": "...", "at": {"x": 1.5}}``
  -> ``{"nodes": [{name, op, data, grad}], "svg": "...", "steps": n}``, or a
  400 with ``{"error", "line", "column"}``.
- with ``--class``, a class session (``viz.classroom``): the teacher's page at
  ``/teach/<secret>`` drives it, the students' page ``/class`` follows it, both
  over WebSockets.

What the pages show is computed by ``viz.live`` (no web stack there).

Safety: every formula goes through ``parse`` and a node limit before Graphviz
sees it, Graphviz runs under a time limit, and the engine's work runs in a
worker thread under another; request bodies, WebSocket messages, messages per
minute, connections per address, students (in all and per address) and
answers per question are all capped; a student's text reaches a page only
through ``textContent`` and the CSV only with a spreadsheet's formula
characters defused. Nothing is written to disk.

The web stack (starlette, uvicorn, segno for the QR code) is imported here,
and this module is imported only by ``chainrule serve``, so ``import
chainrule.viz`` stays light.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import shutil
import socket
import subprocess
import time
from collections import deque
from dataclasses import dataclass

import anyio
import segno
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .classroom import ClassError, Classroom
from .live import (
    LAYOUT_SECONDS,
    MAX_NODES,
    BadInput,
    graph_payload,
    lesson_for,
    read_at_text,
    stepper_page,
    too_slow,
)
from .pages import asset


@dataclass(frozen=True)
class Limits:
    """Every bound the server keeps. The defaults suit a class of a few hundred on one laptop."""

    body_bytes: int = 64_000  # a POST body; a formula is at most 10,000 characters
    max_nodes: int = MAX_NODES  # graph nodes the server will lay out
    layout_seconds: float = LAYOUT_SECONDS  # per picture; then Graphviz is stopped and the formula refused
    connections_per_address: int = 16  # open HTTP requests plus WebSockets from one address
    student_message_bytes: int = 1_000
    teacher_message_bytes: int = 64_000
    messages_per_minute: int = 60  # per WebSocket; past it the connection is closed
    bad_messages: int = 10  # unreadable messages before a WebSocket is closed
    students: int = 500
    students_per_address: int = 8  # new students one device may make (a second tab is a second student)
    answers_per_question: int = 1_000
    send_seconds: float = 5.0  # a client that does not take a message within this is dropped


# --- the web application ----------------------------------------------------------------------


#: What the server's own pages may load: their own scripts and styles, and nothing from elsewhere.
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
ASSETS = {"serve.js": "text/javascript", "serve.css": "text/css", "class.css": "text/css",
          "class_common.js": "text/javascript", "class_student.js": "text/javascript",
          "class_teacher.js": "text/javascript", "forms.js": "text/javascript"}


def page(name: str) -> HTMLResponse:
    return HTMLResponse(asset(name), headers={**HEADERS, "Content-Security-Policy": PAGE_CSP,
                                              "X-Frame-Options": "SAMEORIGIN"})


async def read_json(request: Request, limit: int) -> object:
    """The request's JSON body, refused past ``limit`` bytes without reading more."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BadInput(f"the request is larger than {limit:,} bytes")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise BadInput(f"the request is larger than {limit:,} bytes")
    except ClientDisconnect:
        raise BadInput("the request ended before its body did") from None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise BadInput('the request body must be JSON: {"formula": "...", "at": {"x": 1.5}}') from None


class Worker:
    """Runs the engine and Graphviz off the event loop, a few at a time, each under a time limit."""

    def __init__(self, seconds: float, at_once: int = 2):
        self.seconds = seconds
        self.limiter = anyio.CapacityLimiter(at_once)

    async def run(self, fn, *args):
        try:
            with anyio.fail_after(self.seconds):
                return await anyio.to_thread.run_sync(lambda: fn(*args), abandon_on_cancel=True,
                                                      limiter=self.limiter)
        except TimeoutError:
            raise BadInput(too_slow(self.seconds)) from None
        except BadInput:
            raise
        except (ValueError, ArithmeticError) as e:  # a domain error in the pass, worded by the engine
            raise BadInput(str(e)) from None


class Outbox:
    """One connection's pending news: a flag that its view changed, and short notices for it alone."""

    def __init__(self):
        self.changed = asyncio.Event()
        self.notices: deque[dict] = deque(maxlen=8)

    def poke(self, notice: dict | None = None) -> None:
        if notice is not None:
            self.notices.append(notice)
        self.changed.set()


class Session:
    """The live class: the Classroom and the open WebSockets of its teacher(s) and students."""

    def __init__(self, limits: Limits, class_url: str):
        self.room = Classroom(max_students=limits.students, max_answers=limits.answers_per_question)
        self.limits = limits
        self.class_url = class_url
        self.teachers: set[Outbox] = set()
        self.students: set[Outbox] = set()
        self.joined: dict[str, int] = {}  # client address -> students made from it

    def everyone(self) -> None:
        for box in (*self.teachers, *self.students):
            box.poke()

    def teachers_only(self) -> None:
        for box in self.teachers:
            box.poke()


class PerAddress:
    """ASGI middleware: at most ``limit`` open requests and WebSockets from one client address."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit
        self.open: dict[str, int] = {}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = (scope.get("client") or ("?", 0))[0]
        if self.open.get(host, 0) >= self.limit:
            if scope["type"] == "http":
                response = PlainTextResponse("too many connections from your address", status_code=429)
                return await response(scope, receive, send)
            return await send({"type": "websocket.close", "code": 1008, "reason": "too many connections"})
        self.open[host] = self.open.get(host, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[host] -= 1
            if not self.open[host]:
                del self.open[host]


def create_app(classroom: bool = False, secret: str | None = None, limits: Limits = Limits(),
               class_url: str = "/class"):
    """The ASGI application: the formula box and its API, and with ``classroom`` the class session."""
    worker = Worker(3 * limits.layout_seconds)  # the engine's work, and up to two layouts (the page's)
    secret = secret or secrets.token_urlsafe(18)
    session = Session(limits, class_url) if classroom else None

    async def box(request: Request) -> Response:
        return page("serve.html")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("not found", status_code=404)
        return Response(asset(name), media_type=ASSETS[name], headers=HEADERS)

    async def api_graph(request: Request) -> Response:
        try:
            body = await read_json(request, limits.body_bytes)
            if not isinstance(body, dict):
                raise BadInput('the request body must be a JSON object: {"formula": "...", "at": {"x": 1.5}}')
            payload = await worker.run(graph_payload, body.get("formula"), body.get("at"), limits.max_nodes,
                                       limits.layout_seconds)
        except BadInput as e:
            return JSONResponse(e.body(), status_code=400, headers=HEADERS)
        except RuntimeError as e:  # Graphviz missing or failing: the server's trouble, not the formula's
            return JSONResponse({"error": str(e), "line": None, "column": None, "text": ""}, status_code=500,
                                headers=HEADERS)
        return JSONResponse(payload, headers=HEADERS)

    async def stepper(request: Request) -> Response:
        """GET /page?formula=...&at=x=1.5,w=0.8[&download=1]: the stepper page for the formula."""
        query = request.query_params
        try:
            source = query.get("formula", "")
            if len(source) > limits.body_bytes:
                raise BadInput("the formula is too long")
            html = await worker.run(stepper_page, source, read_at_text(query.get("at", "")), limits.max_nodes,
                                    limits.layout_seconds)
        except BadInput as e:
            return PlainTextResponse(f"chainrule: {e.message}", status_code=400, headers=HEADERS)
        except RuntimeError as e:
            return PlainTextResponse(f"chainrule: {e}", status_code=500, headers=HEADERS)
        headers = dict(HEADERS)
        if query.get("download"):
            headers["Content-Disposition"] = 'attachment; filename="chainrule-stepper.html"'
        return HTMLResponse(html, headers=headers)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)  # browsers ask for one; saying "none" keeps their consoles clean

    routes = [
        Route("/", box),
        Route("/favicon.ico", no_icon),
        Route("/assets/{name}", static),
        Route("/api/graph", api_graph, methods=["POST"]),
        Route("/page", stepper),
    ]
    if session is not None:
        routes += class_routes(session, secret, worker)
    app = Starlette(routes=routes)
    app.state.secret = secret
    app.state.session = session
    return PerAddress(app, limits.connections_per_address)


def class_routes(session: Session, secret: str, worker: Worker) -> list:
    room, limits = session.room, session.limits

    def teacher(request_secret: str) -> bool:
        return secrets.compare_digest(request_secret.encode("utf-8", "replace"), secret.encode())

    async def student_page(request: Request) -> Response:
        return page("class_student.html")

    async def teacher_page(request: Request) -> Response:
        if not teacher(request.path_params["secret"]):
            return PlainTextResponse("not found", status_code=404)
        return page("class_teacher.html")

    async def results(request: Request) -> Response:
        if not teacher(request.path_params["secret"]):
            return PlainTextResponse("not found", status_code=404)
        stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
        return Response(room.csv_text(), media_type="text/csv; charset=utf-8", headers={
            **HEADERS, "Content-Disposition": f'attachment; filename="chainrule-class-{stamp}.csv"'})

    async def qr(request: Request) -> Response:
        if not teacher(request.path_params["secret"]):
            return PlainTextResponse("not found", status_code=404)
        out = io.BytesIO()
        segno.make(session.class_url, error="m").save(out, kind="svg", scale=8, border=2, title="class address")
        return Response(out.getvalue(), media_type="image/svg+xml", headers=HEADERS)

    async def graph(request: Request) -> Response:
        """The current formula's picture: values and local derivatives, no grads."""
        if room.lesson is None:
            return PlainTextResponse("no formula is loaded yet", status_code=404)
        return Response(room.lesson.svg, media_type="image/svg+xml", headers=HEADERS)

    async def teacher_socket(ws: WebSocket) -> None:
        if not teacher(ws.path_params["secret"]):
            await ws.close(code=1008)
            return
        await ws.accept()
        box = Outbox()
        session.teachers.add(box)
        box.poke({"type": "hello", "classUrl": session.class_url, "loaded": room.lesson is not None})
        sender = asyncio.create_task(send_loop(ws, box, lambda: {"type": "view", **room.teacher_view()},
                                               session, pause=0.05))
        try:
            async for message in messages(ws, limits.teacher_message_bytes, limits, box):
                await teacher_says(message, box)
        finally:
            session.teachers.discard(box)
            sender.cancel()

    async def teacher_says(message: dict, box: Outbox) -> None:
        kind = message.get("type")
        try:
            if kind == "load":
                lesson = await worker.run(lesson_for, message.get("formula"), message.get("at"), limits.max_nodes,
                                          limits.layout_seconds)
                room.load(lesson)
            elif kind == "go":
                room.go(message.get("step"))
            elif kind == "open":
                room.open_question()
            elif kind == "close":
                room.close_question()
            elif kind == "reveal":
                room.reveal()
            else:
                box.poke({"type": "notice", "text": "unknown request"})
                return
        except BadInput as e:
            box.poke({"type": "error", **e.body()})
            return
        except RuntimeError as e:
            box.poke({"type": "error", "error": str(e), "line": None, "column": None, "text": ""})
            return
        except ClassError as e:
            box.poke({"type": "notice", "text": str(e)})
            return
        session.everyone()

    async def student_socket(ws: WebSocket) -> None:
        await ws.accept()
        box = Outbox()
        student = None
        sender = None
        try:
            async for message in messages(ws, limits.student_message_bytes, limits, box):
                kind = message.get("type")
                if kind == "join" and student is None:
                    host = ws.client.host if ws.client else "?"
                    known = room.knows(message.get("token"))
                    try:
                        if not known and session.joined.get(host, 0) >= limits.students_per_address:
                            raise ClassError(f"{limits.students_per_address} students have joined from this "
                                             "device already")
                        student = room.join(message.get("token"), message.get("name", ""))
                    except ClassError as e:
                        await close_quietly(ws, 1008, str(e)[:100])
                        return
                    if not known:
                        session.joined[host] = session.joined.get(host, 0) + 1
                    box.poke({"type": "joined", "token": student.token, "id": student.id})
                    session.students.add(box)
                    view = lambda who=student: {"type": "view", **room.student_view(who)}
                    sender = asyncio.create_task(send_loop(ws, box, view, session))
                    session.teachers_only()
                elif kind == "answer" and student is not None:
                    try:
                        room.answer(student, message.get("value"))
                    except ClassError as e:
                        box.poke({"type": "notice", "text": str(e)})
                        continue
                    box.poke()
                    session.teachers_only()
                else:
                    box.poke({"type": "notice", "text": "join first, then answer" if student is None
                              else "unknown request"})
        finally:
            session.students.discard(box)
            if sender is not None:
                sender.cancel()

    return [
        Route("/class", student_page),
        Route("/class/graph.svg", graph),
        Route("/teach/{secret}", teacher_page),
        Route("/teach/{secret}/results.csv", results),
        Route("/teach/{secret}/qr.svg", qr),
        WebSocketRoute("/ws/class", student_socket),
        WebSocketRoute("/ws/teach/{secret}", teacher_socket),
    ]


async def messages(ws: WebSocket, max_bytes: int, limits: Limits, box: Outbox):
    """The JSON objects a client sends, until it leaves or breaks a limit (then the socket is closed)."""
    recent: deque[float] = deque()
    bad = 0
    while True:
        try:
            event = await ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if event["type"] == "websocket.disconnect":
            return
        text = event.get("text")
        if text is None:  # binary frames are not ours
            text = ""
        now = time.monotonic()
        recent.append(now)
        while recent and recent[0] < now - 60:
            recent.popleft()
        if len(recent) > limits.messages_per_minute:
            await close_quietly(ws, 1008, "too many messages")
            return
        if len(text) > max_bytes:
            await close_quietly(ws, 1009, "message too large")
            return
        try:
            message = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            message = None
        if not isinstance(message, dict):
            bad += 1
            if bad >= limits.bad_messages:
                await close_quietly(ws, 1003, "unreadable messages")
                return
            box.poke({"type": "notice", "text": "that message was not understood"})
            continue
        yield message


async def close_quietly(ws: WebSocket, code: int, reason: str) -> None:
    try:
        await ws.close(code=code, reason=reason)
    except (RuntimeError, OSError):
        pass  # already gone: nothing left to tell it


async def send_loop(ws: WebSocket, box: Outbox, view, session: Session, pause: float = 0.0) -> None:
    """Send this connection its notices and its current view whenever poked; drop a client that stalls.

    Views are computed when sent, not when poked, so a burst of answers costs
    one view per pause, however many arrived.
    """
    try:
        while True:
            await box.changed.wait()
            box.changed.clear()
            while box.notices:
                await asyncio.wait_for(ws.send_text(json.dumps(box.notices.popleft())), session.limits.send_seconds)
            await asyncio.wait_for(ws.send_text(json.dumps(view(), allow_nan=False)), session.limits.send_seconds)
            if pause:
                await asyncio.sleep(pause)
    except (asyncio.TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        await close_quietly(ws, 1011, "not keeping up")


# --- running it ---------------------------------------------------------------------------------------


def addresses(host: str) -> list[str]:
    """The addresses a device in the room can use for ``host``: for 0.0.0.0, this machine's own.

    The machine's name usually resolves to them; where it resolves only to a
    loopback address (as on many Debian installs), ``hostname -I`` lists them.
    Nothing is sent anywhere to find out.
    """
    if host not in ("0.0.0.0", "::", ""):
        return [host]
    found: list[str] = []
    try:
        found = [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    except OSError:
        pass  # no name for this machine: try the next way
    if not [a for a in found if not a.startswith("127.")] and shutil.which("hostname"):
        try:
            found = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout.split()
        except (OSError, subprocess.SubprocessError):
            pass  # not this hostname: fall back below
    usable = [a for a in dict.fromkeys(found) if not a.startswith("127.") and ":" not in a]
    return usable or ["127.0.0.1"]


def url(host: str, port: int, path: str = "/") -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: any free port), or OSError saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
    except OSError:
        sock.close()
        raise
    return sock


def server_for(app, sock: socket.socket, limits: Limits = Limits()):
    """A uvicorn server for ``app`` on ``sock``: WebSockets by the websockets package, messages capped."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", ws="websockets-sansio", lifespan="off",
                            ws_max_size=max(limits.teacher_message_bytes, limits.student_message_bytes),
                            limit_concurrency=2_000, timeout_keep_alive=5, http="h11",
                            h11_max_incomplete_event_size=limits.body_bytes * 2)  # /page?formula=... may be long
    return uvicorn.Server(config)


def serve(host: str = "127.0.0.1", port: int = 8000, classroom: bool = False, out=None) -> None:
    """Run the server until Ctrl-C, printing where to find it (and the class's QR code)."""
    import sys

    out = out or sys.stdout
    limits = Limits()
    sock = listen(host, port)
    port = sock.getsockname()[1]
    public = addresses(host)[0]
    class_url = url(public, port, "/class")
    app = create_app(classroom=classroom, limits=limits, class_url=class_url)
    if host != "127.0.0.1":
        print(f"warning: listening on {host}, so other machines on the network can reach this server; "
              "everyone who can reach it can use the formula box and join the class", file=out)
    if public == "127.0.0.1" and host != "127.0.0.1":
        print("could not tell this machine's address on the network: give it as --host (ip addr or ipconfig "
              "shows it), or use it in place of 127.0.0.1 below", file=out)
    print(f"formula box: {url(public, port)}", file=out)
    if classroom:
        print(f"students:    {class_url}", file=out)
        print(f"teacher:     {url(public, port, '/teach/' + app.app.state.secret)}   "
              "(keep this address to yourself)", file=out)
        segno.make(class_url, error="m").terminal(out=out, compact=True)
    print("Ctrl-C stops the server.", file=out, flush=True)
    with sock:
        server_for(app, sock, limits).run(sockets=[sock])
