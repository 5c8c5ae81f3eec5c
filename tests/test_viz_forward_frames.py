"""The deck of frames: the forward pass, the backward pass, the update; forward mode on the forward frames.

Counts are computed from the engine's own steps (``forward_steps``,
``backward_steps``) and read back from the files: numbered SVG and PNG files,
the PDF's pages (pypdf), the GIF's frames (Pillow), with the system ``dot`` and
with the WebAssembly Graphviz. The numbers on the frames are held against
closed forms, central differences and the reverse-mode gradient.
"""

from __future__ import annotations

import re

import pytest
from chainrule.autograd import Value, backward_steps, forward_steps, grad, parse, topological_order
from chainrule.autograd.names import display_names
from chainrule.viz import save_frames
from chainrule.viz.forward_frames import deck_dots
from chainrule.viz.frames import step_frames
from chainrule.viz.tangents import tangent_field
from conftest import require
from course import course, sig

FORMULA = "z = w*x + b; h = sigmoid(z); L = (y - h)**2"
AT = {"w": 0.8, "x": 1.5, "b": 0.1, "y": 1.0}


def fresh(**changes) -> Value:
    return parse(FORMULA, **dict(AT, **changes)).output


def counts(root: Value) -> tuple[int, int]:
    return sum(1 for _ in forward_steps(root)), sum(1 for _ in backward_steps(root))


def box(source: str, i: int) -> list[str]:
    """The fields of value box v{i} in a frame's DOT."""
    line = re.search(rf"^\t+v{i} \[label=\"(.*?)\" ", source, re.M)
    return [part.strip() for part in line.group(1).split(" | ")]


def caption(source: str) -> list[str]:
    """The caption's lines (a left-aligned plain label: lines end in \\l)."""
    text = re.search(r'label="(.*?)" labeljust=l', source).group(1)
    return [line for line in text.split("\\l") if line]


def numbers(text: str) -> list[float]:
    return [float(m.replace("−", "-")) for m in re.findall(r"−?-?\d+(?:\.\d+)?(?:e[-+]\d+)?", text)]


def central(node_index: int, name: str, h: float = 1e-6) -> float:
    """d(node)/d(name) by central differences: the graph built again at name ± h (same structure, same order)."""
    up = topological_order(fresh(**{name: AT[name] + h}))[node_index].data
    down = topological_order(fresh(**{name: AT[name] - h}))[node_index].data
    return (up - down) / (2 * h)


# --- counts, with both engines and every format ------------------------------------------------

SMALL = "c = a*b + a"  # raster frames take resvg about a second each on a shared machine: a small graph for them


@pytest.mark.parametrize("engine", ["dot", "wasm"])
def test_every_format_has_a_frame_per_forward_step_backward_step_and_the_update(tmp_path, engine):
    require(engine)
    from PIL import Image, ImageSequence
    from pypdf import PdfReader

    e = parse(FORMULA, **AT)
    F, B = counts(e.output)
    assert (F, B) == (5, 5)
    paths = save_frames(e.output, tmp_path / "svg", engine=engine, lr=0.1, params=[e.variables["w"]])
    assert [p.name for p in paths] == [f"step-{n:02d}.svg" for n in range(1, F + B + 2)]
    assert sorted(p.name for p in (tmp_path / "svg").iterdir()) == [p.name for p in paths]
    # Without the update, and without the forward pass: the page's options, the same counts.
    assert len(save_frames(fresh(), tmp_path / "plain", engine=engine)) == F + B
    assert len(save_frames(fresh(), tmp_path / "back", engine=engine, forward=False)) == B
    assert len(step_frames(fresh(), engine=engine)) == B  # step_frames keeps its contract: backward steps
    assert len(step_frames(fresh(), engine=engine, forward=True)) == F + B

    small = parse(SMALL, a=2.0, b=-3.0)
    update = {"lr": 0.1, "params": [small.variables["a"]], "engine": engine}
    F, B = counts(small.output)
    total = F + B + 1
    assert total == 5
    pngs = save_frames(small.output, tmp_path / "png", format="png", **update)
    assert [p.name for p in pngs] == [f"step-{n:02d}.png" for n in range(1, total + 1)]
    (pdf,) = save_frames(small.output, tmp_path / "pdf", format="pdf", **update)
    assert len(PdfReader(pdf).pages) == total
    (gif,) = save_frames(small.output, tmp_path / "gif", format="gif", **update)
    with Image.open(gif) as image:
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    assert len(frames) == total
    assert len({frame.tobytes() for frame in frames}) == total  # each step its own picture
    # Forward mode on the forward frames changes no count.
    (pdf,) = save_frames(parse(SMALL, a=2.0, b=-3.0).output, tmp_path / "tangent", format="pdf", engine=engine,
                         tangent="b")
    assert len(PdfReader(pdf).pages) == F + B


# --- what the forward frames show ----------------------------------------------------------------


def test_forward_frames_show_the_engines_values_as_they_are_computed():
    L, v, z, h = course()
    order = topological_order(L)
    names = display_names(order)
    frames = [frame.source for frame in deck_dots(L)]
    steps = list(forward_steps(L))
    for k, step in enumerate(steps):
        source = frames[k]
        i = order.index(step.node)
        computed = {order.index(s.node) for s in steps[: k + 1]}
        for j, node in enumerate(order):
            fields = box(source, j)
            if node.is_leaf or j in computed:
                assert fields[1] == f"data {node.data:.4g}", (k, j, fields)
            else:
                assert fields[1] == "data ?" and fields[-1] == "not yet computed", (k, j, fields)
        assert box(source, i)[-1] == "computed now"
        for k2, parent in enumerate(step.node.parents):  # each arrow in carries its parent's value, in red
            edge = re.search(rf"-> op{i} \[(.*?id=e{i}_{k2}.*?)\]", source).group(1)
            assert re.search(rf'label="?{re.escape(f"{parent.data:.4g}")}"? ', edge) and 'color="#dc2626"' in edge, edge
        first = caption(source)[0]
        assert first.startswith(f"Forward step {k + 1} of 5: {names[step.node]} = ")
        assert first.endswith(f" = {step.value:.4g}")
    # Closed forms, by hand: z = 0.8 * 1.5 + 0.1, h = sigmoid(1.3), L = (1 - h)^2.
    assert caption(frames[1])[0] == "Forward step 2 of 5: z = mul1 + b = 1.2 + 0.1 = 1.3"
    assert caption(frames[2])[0] == f"Forward step 3 of 5: h = σ(z) = σ(1.3) = {sig(1.3):.4g}"
    assert caption(frames[4])[0].endswith(f"= {(1 - sig(1.3)) ** 2:.4g}")
    # The backward frames follow, as viz.frames draws them.
    assert caption(frames[5])[0].startswith("Backward step 1 of 5: L = ")


@pytest.mark.parametrize("seed", ["x", "w", "b", "y"])
def test_forward_mode_frames_show_tangents_equal_to_central_differences_and_backprop(seed):
    root = fresh()
    order = topological_order(root)
    frames = [frame.source for frame in deck_dots(root, tangent=seed)]
    F, B = counts(root)
    assert len(frames) == F + B
    reference = fresh()
    reference.backward()
    grads = {node.name: node.grad for node in topological_order(reference) if node.is_leaf}
    last = frames[F - 1]
    for i in range(len(order)):
        (text,) = [f for f in box(last, i) if f.startswith("∂/∂")]
        assert text.startswith(f"∂/∂{seed} ")
        shown = float(text.split()[-1])
        assert shown == pytest.approx(central(i, seed), rel=5e-4, abs=1e-9), (seed, i, text)
    # At the output, forward mode's tangent is reverse mode's gradient dL/d(seed).
    (text,) = [f for f in box(last, len(order) - 1) if f.startswith("∂/∂")]
    assert text == tangent_field(seed, grads[seed]) or float(text.split()[-1]) == pytest.approx(grads[seed], rel=5e-4)
    tangent_line = caption(last)[1]
    assert tangent_line.startswith(f"tangent ∂L/∂{seed} = ")
    assert numbers(tangent_line)[-1] == pytest.approx(grads[seed], rel=5e-4)


def test_the_tangent_caption_adds_local_times_the_parents_tangent():
    # d/dx at the course's point, by hand: mul1 = w*x -> w; z -> w; h -> s(1-s) w.
    frames = [frame.source for frame in deck_dots(fresh(), tangent="x")]
    assert caption(frames[0])[1] == "tangent ∂mul1/∂x = Σ local × the parent's tangent = 1.5 × 0 + 0.8 × 1 = 0.8"
    s = sig(1.3)
    assert caption(frames[2])[1].endswith(f"= {s * (1 - s):.4g} × 0.8 = {s * (1 - s) * 0.8:.4g}")
    edge = re.search(r"v\d+ -> op\d+ \[(.*?label=\"1.5 × 0 = 0\".*?)\]", frames[0])
    assert edge is not None and 'color="#dc2626"' in edge.group(1)  # the arrows into mul1 carry the products


def test_the_update_frame_gives_new_values_and_the_loss_at_them():
    e = parse(FORMULA, **AT)
    w, b = e.variables["w"], e.variables["b"]
    frames = deck_dots(e.output, lr=0.1, params=[w, b])
    last = caption(frames[-1].source)
    s = sig(1.3)
    dz = -2 * (1 - s) * s * (1 - s)  # dL/dz by hand
    new_w, new_b = 0.8 - 0.1 * dz * 1.5, 0.1 - 0.1 * dz
    assert last[0] == "Update: one step of gradient descent, new = old − lr × grad, lr = 0.1"
    assert numbers(last[1])[-1] == pytest.approx(new_w, rel=5e-4)
    assert numbers(last[2])[-1] == pytest.approx(new_b, rel=5e-4)
    after = parse(FORMULA, **dict(AT, w=new_w, b=new_b)).output.data  # the loss, built again at the new values
    assert last[3].startswith(f"L before {(1 - s) ** 2:.4g} → after {after:.4g} (down by ")
    order = topological_order(e.output)
    assert box(frames[-1].source, order.index(w))[1] == f"data 0.8 → {new_w:.4g}"


def test_bad_options_are_named():
    root = fresh()
    with pytest.raises(ValueError, match="forward=False"):
        deck_dots(root, forward=False, tangent="x")
    with pytest.raises(ValueError, match="inputs are"):
        deck_dots(root, tangent="nope")
    with pytest.raises(ValueError, match="lr"):
        deck_dots(root, params=[])
    with pytest.raises(TypeError, match="Value"):
        deck_dots("L")


def test_a_models_deck_keeps_its_clusters_and_seeds_a_named_parameter():
    from chainrule.nn.losses import mse
    from chainrule.nn.module import MLP

    model = MLP(2, [2, 1], seed=0)
    loss = mse(model([0.5, -1.0]), 1.0)
    w = model.parameters()[0]
    frames = deck_dots(loss, group_modules=True, lr=0.1, params=[w], tangent=w.name)
    F, B = counts(loss)
    assert len(frames) == F + B + 1
    for frame in frames:
        assert frame.source.count("class=neuron") == 3 and frame.source.count("class=layer") == 2
    (dw,) = grad(loss, [w])  # reverse mode, touching no .grad
    assert numbers(caption(frames[F - 1].source)[1])[-1] == pytest.approx(dw.data, rel=5e-4)
