"""``chainrule serve``: the formula box's JSON API and the command, against a real server on loopback.

Each test module starts the real application (Starlette on uvicorn) on a free
127.0.0.1 port in a thread, talks to it over HTTP with the standard library,
and stops it after. The numbers the API answers are checked against closed
forms and against the engine and the command run directly.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from chainrule.viz.cli import main
from chainrule.viz.server import Limits, create_app, listen, server_for
from chainrule.viz.stepper import stepper_html
from conftest import require

from chainrule import autograd

COURSE = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"x": 1.5, "w": 0.8, "b": 0.1, "y": 1.0}


class Running:
    """The app served by uvicorn on a free loopback port, in a thread; ``stop()`` ends it."""

    def __init__(self, classroom: bool = False, limits: Limits | None = None):
        limits = limits or Limits()
        sock = listen("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.app = create_app(classroom=classroom, limits=limits, class_url=self.base + "/class")
        self.secret = self.app.app.state.secret
        self.session = self.app.app.state.session
        self.server = server_for(self.app, sock, limits)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        self.sock = sock

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()
        assert not self.thread.is_alive(), "the server did not stop"


def post(base: str, path: str, body: bytes | dict, headers: dict | None = None) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(base: str, path: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(base + path, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def server():
    running = Running()
    yield running
    running.stop()


def test_a_formula_gives_the_closed_form_values_and_grads(server):
    # f = x*x + x at x = 3: f = 12, df/dx = 2x + 1 = 7; the product x*x has grad 1.
    status, body = post(server.base, "/api/graph", {"formula": "x*x + x", "at": {"x": 3}})
    assert status == 200
    assert body["nodes"] == [
        {"name": "x", "op": "", "data": 3.0, "grad": 7.0},
        {"name": "mul1", "op": "*", "data": 9.0, "grad": 1.0},
        {"name": "add1", "op": "+", "data": 12.0, "grad": 1.0},
    ]
    assert body["steps"] == 2
    assert body["svg"].startswith("<svg") and body["svg"].rstrip().endswith("</svg>")


def test_the_course_example_matches_the_closed_form(server):
    status, body = post(server.base, "/api/graph", {"formula": COURSE, "at": AT})
    assert status == 200
    nodes = {node["name"]: node for node in body["nodes"]}
    x, w, b, y = AT["x"], AT["w"], AT["b"], AT["y"]
    z = w * x + b
    h = 1 / (1 + math.exp(-z))
    dL_dz = -2 * (y - h) * h * (1 - h)  # d/dz (y - sigmoid(z))^2
    assert nodes["L"]["data"] == pytest.approx((y - h) ** 2, rel=1e-12)
    assert nodes["w"]["grad"] == pytest.approx(dL_dz * x, rel=1e-12)
    assert nodes["x"]["grad"] == pytest.approx(dL_dz * w, rel=1e-12)
    assert nodes["b"]["grad"] == pytest.approx(dL_dz, rel=1e-12)
    assert body["steps"] == sum(1 for node in body["nodes"] if node["op"])


def test_domain_errors_are_400s_and_a_check_that_cannot_nudge_says_so(server):
    # sqrt(x) at 0: the value is 0, but a nudge of -1e-5 leaves sqrt's domain
    status, body = post(server.base, "/api/graph", {"formula": "sqrt(x) + x", "at": {"x": 0}})
    assert status == 200
    assert body["nodes"][0]["grad"] == "inf"  # d(sqrt(x) + x)/dx = 1/(2 sqrt(x)) + 1 at 0; JSON has no inf
    assert body["check"].startswith("no gradient check at these values: a nudge of 1e-05 gives sqrt(-1e-05)")
    status, body = post(server.base, "/api/graph", {"formula": "x / y", "at": {"x": 1, "y": 0}})
    assert status == 400 and body["error"] == "division by zero in 1 / 0" and body["line"] == 1


def test_the_tables_are_the_commands_own(server):
    _, body = post(server.base, "/api/graph", {"formula": COURSE, "at": AT})
    at = ",".join(f"{k}={v}" for k, v in AT.items())
    for argv, part in ((["steps", COURSE, "--at", at], "backward"), (["steps", COURSE, "--at", at], "forward"),
                       (["check", COURSE, "--at", at], "check"), (["paths", COURSE, "--at", at, "--wrt", "w"], "w")):
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(argv) == 0
        text = body["paths"]["w"] if part == "w" else body[part]
        assert text.strip() and text in out.getvalue(), part


@pytest.mark.parametrize("formula, line, column", [
    ("x*(y+", 1, 3),
    ("a = x + 1\nb = a +* 2", 2, 8),
    ("x = 1\ny = frobnicate(x)", 2, 5),
])
def test_a_bad_formula_is_a_400_with_line_and_column(server, formula, line, column):
    status, body = post(server.base, "/api/graph", {"formula": formula, "at": {}})
    assert status == 400
    assert (body["line"], body["column"]) == (line, column)
    assert body["error"]
    # the same place the engine's own error names
    with pytest.raises(autograd.ExpressionError) as e:
        autograd.parse(formula)
    assert (e.value.line, e.value.column) == (line, column)


HOSTILE = [
    "__import__('os').system('touch PWNED')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('PWNED', 'w').write('x')",
    "(lambda: 1)()",
    "[x for x in (1, 2)]",
    "exec('import os')",
    "x.__class__",
]


@pytest.mark.parametrize("formula", HOSTILE)
def test_hostile_formulas_run_nothing(server, formula, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, body = post(server.base, "/api/graph", {"formula": formula, "at": {}})
    assert status == 400 and body["error"] and body["line"] == 1
    assert list(tmp_path.iterdir()) == []
    assert not Path("PWNED").exists()


@pytest.mark.parametrize("at, word", [
    ({"<script>alert(1)</script>": 1}, "not a name"),
    ({"x; import os": 1}, "not a name"),
    ({"x": "1; rm -rf /"}, "finite number"),
    ({"x": True}, "finite number"),
    ([1, 2], "object"),
])
def test_hostile_names_and_values_are_refused(server, at, word):
    status, body = post(server.base, "/api/graph", {"formula": "x*x", "at": at})
    assert status == 400 and word in body["error"]


def test_a_name_with_markup_travels_as_text(server):
    # Names cannot hold markup in the formula language, so the nearest hostile thing is a value
    # the formula does not use: refused by name, and the name is echoed only inside JSON.
    status, body = post(server.base, "/api/graph", {"formula": "x*x", "at": {"x": 1, "onerror": 2}})
    assert status == 400 and "onerror" in body["error"]


def test_over_limit_formulas_and_bodies_are_refused(server):
    long = "x" + "+x" * 5_000  # 10,001 characters: over parse's limit
    status, body = post(server.base, "/api/graph", {"formula": long, "at": {"x": 1}})
    assert status == 400 and "10,000" in body["error"]
    # parses, but 501 nodes are more than the server lays out
    big = "a0 = x*x\n" + "\n".join(f"a{i} = a{i - 1}*x" for i in range(1, 500))
    status, body = post(server.base, "/api/graph", {"formula": big, "at": {"x": 1}})
    assert status == 400 and "nodes" in body["error"] and "400" in body["error"]
    status, body = post(server.base, "/api/graph", b'{"formula": "' + b"x" * 70_000 + b'"}')
    assert status == 400 and "larger than" in body["error"]
    status, body = post(server.base, "/api/graph", b"not json")
    assert status == 400 and "JSON" in body["error"]
    status, body = post(server.base, "/api/graph", {"formula": "log(x)", "at": {"x": -1}})
    assert status == 400 and "log" in body["error"] and "-1" in body["error"]


#: Under 400 nodes, yet Graphviz's dot needs minutes for it: every node also feeds one three rows on.
SLOW = "a0 = x*x\n" + "\n".join(f"a{i} = tanh(a{i - 1})*x + a{max(i - 3, 0)}" for i in range(1, 130))


def our_dot_processes() -> list[str]:
    """The dot processes this test process has started and not ended."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue  # ended while we looked
        if fields.get("Name", "").strip() == "dot" and fields.get("PPid", "").strip() == str(os.getpid()):
            found.append(status.parent.name)
    return found


def test_a_formula_too_slow_to_lay_out_is_refused_and_dot_is_stopped():
    require("dot")
    assert len(autograd.topological_order(autograd.parse(SLOW, x=0.5).output)) <= Limits.max_nodes
    slow = Running(limits=Limits(layout_seconds=2))
    try:
        status, body = post(slow.base, "/api/graph", {"formula": SLOW, "at": {"x": 0.5}})
        assert status == 400 and body["error"].startswith("this graph took more than 2 s to lay out")
        status, _, text = get(slow.base, "/page?" + urllib.parse.urlencode({"formula": SLOW, "at": "x=0.5"}))
        assert status == 400 and b"to lay out" in text
        assert our_dot_processes() == []
        # the server is still there for the next formula
        assert post(slow.base, "/api/graph", {"formula": "x*x", "at": {"x": 1}})[0] == 200
    finally:
        slow.stop()


def test_the_page_is_stepper_html_and_downloads(server):
    query = urllib.parse.urlencode({"formula": COURSE, "at": "x=1.5, w=0.8, b=0.1, y=1", "download": "1"})
    status, headers, body = get(server.base, "/page?" + query)
    assert status == 200
    assert "attachment" in headers["content-disposition"]
    expected = stepper_html(autograd.parse(COURSE, **AT).output, title=COURSE)
    assert body.decode("utf-8") == expected
    status, _, body = get(server.base, "/page?" + urllib.parse.urlencode({"formula": "x*(", "at": ""}))
    assert status == 400 and b"never closed" in body


def test_pages_carry_a_content_security_policy(server):
    status, headers, body = get(server.base, "/")
    assert status == 200 and b"formula box" in body
    assert "script-src 'self'" in headers["content-security-policy"]
    assert get(server.base, "/assets/serve.js")[0] == 200
    assert get(server.base, "/assets/..%2Fserver.py")[0] == 404
    assert get(server.base, "/class")[0] == 404  # no class without --class


def test_connections_per_address_are_limited():
    small = Running(limits=Limits(connections_per_address=2))
    held = []
    try:
        for _ in range(2):  # two requests that never finish sending their body
            s = socket.create_connection(("127.0.0.1", small.port))
            s.sendall(b"POST /api/graph HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            held.append(s)
        time.sleep(0.3)
        status, _, body = get(small.base, "/")
        assert status == 429 and b"too many connections" in body
        for s in held:
            s.close()
        held.clear()
        time.sleep(0.3)
        assert get(small.base, "/")[0] == 200
    finally:
        for s in held:
            s.close()
        small.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "chainrule", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def first_lines(process: subprocess.Popen, until: str) -> list[str]:
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if until in line:
            return lines
    raise AssertionError(f"no {until!r} in {lines}, stderr {process.stderr.read() if process.poll() else ''}")


def test_the_command_prints_the_addresses_and_the_qr_code_and_writes_nothing(tmp_path):
    port = free_port()
    process = command("serve", "--port", str(port), "--class", cwd=tmp_path)
    try:
        lines = first_lines(process, "Ctrl-C")
        text = "\n".join(lines)
        assert f"formula box: http://127.0.0.1:{port}/" in text
        assert f"students:    http://127.0.0.1:{port}/class" in text
        assert "warning" not in text
        teacher = next(line for line in lines if line.startswith("teacher:")).split()[1]
        assert "\u2588" in text or "\u2580" in text  # the QR code's blocks
        assert get(teacher, "")[0] == 200
        assert get(f"http://127.0.0.1:{port}", "/teach/wrong-secret")[0] == 404
        status, body = post(f"http://127.0.0.1:{port}", "/api/graph", {"formula": "x*x", "at": {"x": 2}})
        assert status == 200 and body["nodes"][0]["grad"] == 4.0
    finally:
        process.terminate()
        process.wait(20)
    assert list(tmp_path.iterdir()) == []  # nothing written to disk


def test_another_host_gets_a_warning(tmp_path):
    port = free_port()
    process = command("serve", "--host", "127.0.0.2", "--port", str(port), cwd=tmp_path)
    try:
        text = "\n".join(first_lines(process, "Ctrl-C"))
        assert text.startswith("warning: listening on 127.0.0.2")
        assert f"http://127.0.0.2:{port}/" in text
    finally:
        process.terminate()
        process.wait(20)


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "chainrule", "serve", "--port", str(port)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_importing_viz_does_not_load_the_web_stack():
    code = "import sys, chainrule.viz; print(sorted(m for m in ('starlette', 'uvicorn', 'segno') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]"


DOC = Path(__file__).resolve().parent.parent / "docs" / "live.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_snippets():
    assert len(SNIPPETS) == 4  # the page's data, the HTTP API, a server in a script, a class


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_docs_live_snippets_run(index, tmp_path):
    result = subprocess.run([sys.executable, "-c", SNIPPETS[index]], capture_output=True, text=True, cwd=tmp_path,
                            timeout=120)
    assert result.returncode == 0, f"snippet {index} failed:\n{SNIPPETS[index]}\n{result.stderr}"
    assert list(tmp_path.iterdir()) == []  # nothing written to disk


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "a port is from 1 to 65535"),
    (["--port", "http"], "is not a whole number"),
    (["--host", "no such host."], "cannot listen on no such host."),
])
def test_bad_addresses_are_one_line_and_exit_2(args, message, tmp_path):
    result = subprocess.run([sys.executable, "-m", "chainrule", "serve", *args], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_every_address_means_this_machines_own():
    from chainrule.viz.server import addresses

    assert addresses("127.0.0.2") == ["127.0.0.2"]
    found = addresses("0.0.0.0")
    assert found and all(socket.inet_aton(a) and not a.startswith("127.") for a in found) or found == ["127.0.0.1"]
