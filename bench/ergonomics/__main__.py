"""`python -m bench.ergonomics`: measure both apps and print ergonomics.json."""

from bench.ergonomics import main

raise SystemExit(main())
