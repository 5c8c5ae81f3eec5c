"""chainrule's pictures: graphs as DOT and SVG, backward step frames, the stepper page, plots.

* ``to_dot``      a graph as a ``graphviz.Digraph`` (``viz.dot``)
* ``render``      DOT to SVG/PNG/PDF through the system ``dot`` or WebAssembly (``viz.render``)
* ``draw``        a graph that shows inline in Jupyter and can ``save(path)``
* ``step_frames`` one SVG per backward step; ``save_frames`` writes them for slides (``viz.frames``)
* ``stepper_html`` the self-contained HTML page that steps through backprop (``viz.stepper``)
* ``training_html`` the page that replays a recorded training run, step by step (``viz.training``)
* ``loss_curve``, ``decision_boundary``, ``grad_norms_plot``: matplotlib figures (``viz.plots``)

matplotlib is imported only when a plot is drawn, so ``import viz`` stays light.
"""

from .dot import GraphTooLarge, to_dot
from .frames import save_frames, step_frames
from .plots import decision_boundary, grad_norms_plot, loss_curve
from .render import Drawing, EngineUnavailable, RenderError, draw, render
from .stepper import stepper_html
from .training import training_html

__all__ = [
    "Drawing", "EngineUnavailable", "GraphTooLarge", "RenderError", "decision_boundary", "draw",
    "grad_norms_plot", "loss_curve", "render", "save_frames", "step_frames", "stepper_html", "to_dot",
    "training_html",
]
