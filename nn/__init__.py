"""chainrule's neural networks, built from autograd Values.

Read in this order:

* ``module``  Module, Neuron, Layer, MLP: parameters, inits, state and files
* ``losses``  mse, binary_cross_entropy, softmax, the fused cross_entropy, hinge
* ``optim``   SGD (with momentum), Adam, clip_grad_norm
* ``data``    toy data sets in the plane: moons, XOR, spirals, blobs
* ``train``   fit and its History, accuracy, grad_norms, vanish_norms
* ``checks``  check_count: how every count nn is given is checked
"""

from . import data
from .data import make_blobs, make_moons, make_spirals, make_xor
from .losses import binary_cross_entropy, cross_entropy, hinge, mse, softmax
from .module import MLP, Layer, Module, Neuron
from .optim import SGD, Adam, clip_grad_norm
from .train import History, Recording, accuracy, fit, grad_norms

__all__ = [
    "MLP", "SGD", "Adam", "History", "Layer", "Recording", "Module", "Neuron", "accuracy", "binary_cross_entropy",
    "clip_grad_norm", "cross_entropy", "data", "fit", "grad_norms", "hinge", "make_blobs", "make_moons",
    "make_spirals", "make_xor", "mse", "softmax",
]
