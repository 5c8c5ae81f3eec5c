"""Backward step frames: one picture per step, each grad as it stands, states checked by hand."""

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
    assert "Backward step 3 of 5: h = sigmoid(z)" in frame
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
    paths = save_frames(L, tmp_path / "slides")
    assert [p.name for p in paths] == [f"step-0{n}.svg" for n in range(1, 6)]
    assert sorted(p.name for p in (tmp_path / "slides").iterdir()) == [p.name for p in paths]
    for p in paths:
        ET.parse(p)


def test_save_frames_as_png_for_slides(tmp_path):
    require("dot")
    L, *_ = course()
    paths = save_frames(L, tmp_path, format="png")
    assert len(paths) == 5
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)


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
