"""How many examples the property tests try: the full count under `make test`, a fifth of it in the
fast loop (`make test-unit`), so the loop stays under a minute while `make test` keeps its depth.

The profile is chosen once, by tests/conftest.py: HYPOTHESIS_PROFILE names one outright; otherwise
the fast loop (DATAINFRA_TEST_NO_SERVERS=1) takes FAST and every other run FULL. A test that needs more
or fewer examples than the default writes `@settings(max_examples=examples(1500))`: its count is
written for FULL (whose max_examples is Hypothesis' own default, 100) and scaled with the profile —
an explicit `max_examples=1500` would override any profile."""

from __future__ import annotations

import os

from hypothesis import settings

from tests.support.no_servers import servers_refused

FULL = "datainfra"
FAST = "datainfra-fast"
FULL_EXAMPLES = 100
FAST_EXAMPLES = 20
FEWEST = 10
"""No property test runs fewer examples than this, however small its count or profile."""

# No per-example deadline: on a busy 2-core CI machine a GC pause would fail a property test that
# has nothing to do with time (a genuinely slow parser still shows in the run's duration).
settings.register_profile(FULL, deadline=None, max_examples=FULL_EXAMPLES)
settings.register_profile(FAST, parent=settings.get_profile(FULL), max_examples=FAST_EXAMPLES)


def load_profile() -> str:
    """Load the run's profile (see the module docstring) and name it."""
    name = os.environ.get("HYPOTHESIS_PROFILE") or (FAST if servers_refused() else FULL)
    settings.load_profile(name)
    return name


def examples(full: int) -> int:
    """`full` under the FULL profile; under FAST a fifth of it (never fewer than FEWEST, never more
    than `full`)."""
    scaled = full * settings().max_examples // FULL_EXAMPLES
    return min(full, max(FEWEST, scaled))
