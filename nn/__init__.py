"""chainrule's neural networks, built from autograd Values."""
