"""`python -m rag` is the same as the `newsrag` command."""

from rag.interfaces.cli import main

raise SystemExit(main())
