"""Backward step frames: one picture per step, each grad as it stands, states checked by hand.

(``forward=False``: the backward pass alone; the forward and update frames are in
test_viz_forward_frames.py.)"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from chainrule.autograd import Value, topological_order
from chainrule.viz import save_frames, step_frames
from chainrule.viz.frames import frame_dots
from conftest import require
from course import course, sig


def box(source: str, i: int) -> tuple[str, str]:
    """(label, attributes) of value box v{i} in a frame's DOT."""
    line = re.search(rf"^\t+v{i} \[label=\"(.*?)\" (.*)\]$", source, re.M)
    return line.group(1), line.group(2)


def test_one_frame_per_step_each_valid_svg_with_every_id():
    L, *_ = course()
    frames = step_frames(L)
    assert len(frames) == 5  # * + sigmoid - **: one step per op node
    order = topological_order(L)
    for svg in frames:
        found = {el.get("id") for el in ET.fromstring(svg.encode()).iter() if el.get("id")}
        assert {f"v{i}" for i in range(len(order))} <= found


def test_each_frame_shows_grads_and_states_as_they_stand():
    L, v, z, h = course()
    order = topological_order(L)
    at = {node: i for i, node in enumerate(order)}
    frames = [f.source for f in frame_dots(L)]
    s = sig(1.3)
    dh = -2 * (1 - s)  # dL/dh by hand
    dz = dh * s * (1 - s)
    # The sigmoid's step is the third: after ** and -.
    frame = frames[2]
    label, attrs = box(frame, at[h])
    assert label == f"h | data {s:.4g} | grad {dh:.4g} | final, sending now"
    assert 'color="#dc2626"' in attrs  # the current node
    label, attrs = box(frame, at[z])
    assert label == f"z | data 1.3 | grad 0 → {dz:.4g} | final"
    assert 'color="#ea580c"' in attrs  # the parent this step updates
    for name in "wxb":
        label, attrs = box(frame, at[v[name]])
        assert label.endswith("| grad 0 | not yet reached") and "dashed" in attrs
    label, _ = box(frame, at[v["y"]])
    assert label == f"y | data 1 | grad {2 * (1 - s):.4g} | final"
    # The edge z -> sigmoid carries the chain rule at this step.
    edge = re.search(rf"v{at[z]} -> op{at[h]} \[(.*)\]", frame).group(1)
    assert f'label="{s * (1 - s):.4g} × {dh:.4g} = {dz:.4g}"' in edge and 'color="#dc2626"' in edge
    assert "Backward step 3 of 5: h = σ(z)" in frame
    # Last frame: the product's step sends to w and x; every node is final.
    last = frames[-1]
    assert "not yet reached" not in last and "partial" not in last
    label, _ = box(last, at[v["w"]])
    assert label == f"w | data 0.8 | grad 0 → {dz * 1.5:.4g} | final"


def test_a_node_with_several_children_is_partial_until_all_have_sent():
    a = Value(0.7, name="a")
    f = (a.exp() + a.sin()) * a.tanh()
    frames = [frame.source for frame in frame_dots(f)]
    order = topological_order(f)
    # Count by hand which of a's three children (exp, sin, tanh) have run by each frame.
    children = {n for n in order if a in n.parents}
    done = 0
    steps = [n for n in reversed(order) if n.parents]  # the contract's step order
    for node, source in zip(steps, frames, strict=True):
        done += node in children
        label, attrs = box(source, 0)
        if done == 0:
            assert label.endswith("not yet reached") and "dashed" in attrs
        elif done < 3:
            assert label.endswith(f"partial ({done} of 3 children)") and "#fde68a" in attrs
        else:
            assert label.endswith("| final") and "#bbf7d0" in attrs
    grad = (math.exp(0.7) + math.cos(0.7)) * math.tanh(0.7) + (math.exp(0.7) + math.sin(0.7)) * (
        1 - math.tanh(0.7) ** 2)
    assert a.grad == pytest.approx(grad, rel=1e-14)


def test_frames_start_from_zero_grads_and_leave_backwards_grads():
    L, v, *_ = course()
    L.backward()
    L.backward()  # leaves now hold twice the gradient (they accumulate)
    frame_dots(L)
    s = sig(1.3)
    assert v["w"].grad == pytest.approx(2 * (s - 1) * s * (1 - s) * 1.5, rel=1e-14)


def test_a_lone_input_has_no_steps_and_no_frames():
    assert step_frames(Value(2.0)) == []


def test_save_frames_writes_numbered_files(tmp_path):
    L, *_ = course()
    paths = save_frames(L, tmp_path / "slides", forward=False)
    assert [p.name for p in paths] == [f"step-0{n}.svg" for n in range(1, 6)]
    assert sorted(p.name for p in (tmp_path / "slides").iterdir()) == [p.name for p in paths]
    for p in paths:
        ET.parse(p)


def svg_size_px(svg: str) -> tuple[float, float]:
    """An SVG's width and height in CSS px (Graphviz writes points: 1pt = 4/3 px)."""
    root = ET.fromstring(svg.encode())
    size = []
    for attr in ("width", "height"):
        value = root.get(attr)
        size.append(float(value[:-2]) * 4 / 3 if value.endswith("pt") else float(value))
    return size[0], size[1]


@pytest.mark.parametrize("engine", ["dot", "wasm"])
def test_png_frames_are_drawn_at_twice_the_svg_size_with_either_engine(tmp_path, engine):
    require(engine)
    from PIL import Image

    L, *_ = course()
    svgs = step_frames(L, engine=engine)
    paths = save_frames(course().L, tmp_path, format="png", engine=engine, forward=False)
    assert [p.name for p in paths] == [f"step-0{n}.png" for n in range(1, 6)]
    for path, svg in zip(paths, svgs, strict=True):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = svg_size_px(svg)
        with Image.open(path) as image:
            assert image.width >= 2 * width - 1 and image.height >= 2 * height - 1, (image.size, width, height)
            assert round(image.info["dpi"][0]) == 192
            # Drawn, not blank: the red of the step's node and edges is there.
            colours = {c for _, c in image.convert("RGB").getcolors(1 << 20)}
            assert any(r > 180 and g < 80 and b < 80 for r, g, b in colours)


@pytest.mark.parametrize("engine", ["dot", "wasm"])
def test_pdf_frames_are_one_deck_with_a_page_per_step(tmp_path, engine):
    require(engine)
    from pypdf import PdfReader

    (path,) = save_frames(course().L, tmp_path, format="pdf", engine=engine, forward=False)
    assert path.name == "steps.pdf" and list(tmp_path.iterdir()) == [path]
    assert len(PdfReader(path).pages) == 5


@pytest.mark.parametrize("engine", ["dot", "wasm"])
def test_gif_frames_are_one_animation_with_a_frame_per_step(tmp_path, engine):
    require(engine)
    from PIL import Image, ImageSequence

    (path,) = save_frames(course().L, tmp_path, format="gif", engine=engine, forward=False)
    with Image.open(path) as image:
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
        assert image.info["loop"] == 0
    assert len(frames) == 5
    assert len({frame.tobytes() for frame in frames}) == 5  # each step its own picture


def test_frames_call_nodes_by_their_display_names():
    L, *_ = course()
    frames = [f.source for f in frame_dots(L)]
    assert "Backward step 5 of 5: mul1 = w × x" in frames[-1]
    assert "local rule: ∂(w×x)/∂w = x; ∂(w×x)/∂x = w" in frames[-1]
    assert "h = σ(z)" in frames[2] and "L = sub1²" in frames[0]
    assert "exp(a)" not in "".join(frames) and "(*)" not in "".join(frames)


def test_an_unknown_frame_format_is_refused():
    with pytest.raises(ValueError, match="svg, png, pdf, gif"):
        save_frames(course().L, "unused", format="jpeg")


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="str"):
        step_frames("L")
    L, *_ = course()
    with pytest.raises(ValueError, match="engine"):
        step_frames(L, engine="cairo")


def test_frames_of_an_nn_model_keep_its_clusters():
    from chainrule.nn.losses import mse
    from chainrule.nn.module import MLP

    model = MLP(2, [2, 1], seed=0)
    loss = mse(model([0.5, -1.0]), 1.0)
    frames = frame_dots(loss, group_modules=True)
    assert len(frames) == sum(1 for n in topological_order(loss) if n.parents)
    for frame in frames:
        assert frame.source.count("class=neuron") == 3 and frame.source.count("class=layer") == 2
    # After the last step every child has sent its share: every node is final.
    assert "not yet reached" not in frames[-1].source
