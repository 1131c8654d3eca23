"""`python -m bench`."""

from bench.run_bench import main

raise SystemExit(main())
