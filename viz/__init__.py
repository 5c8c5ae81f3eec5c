"""chainrule's pictures: graphs as DOT and SVG, backward step frames, the stepper page, plots."""
