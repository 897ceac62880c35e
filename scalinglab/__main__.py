"""``python -m scalinglab …``: the same code the notebooks call."""

from scalinglab.cli import main

raise SystemExit(main())
