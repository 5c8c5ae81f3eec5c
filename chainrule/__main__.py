"""``python -m chainrule``: the same as the ``chainrule`` command."""

from chainrule.viz.cli import main

raise SystemExit(main())
