"""`python -m fastlin` runs the command line (see fastlin.cli)."""
from fastlin.cli import main

raise SystemExit(main())
