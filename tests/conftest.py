"""Session-wide fixtures: the real servers a test run starts for itself (or takes from
DATAINFRA_TEST_DATABASE_URL / DATAINFRA_TEST_NEO4J_URI), started lazily on first use."""

from tests.support.hypothesis_budget import load_profile
from tests.support.neo4j_fixtures import *  # noqa: F403
from tests.support.postgres_fixtures import *  # noqa: F403

# Hypothesis: `make test` runs every property test at its full example count (profile "datainfra");
# `make test-unit` (DATAINFRA_TEST_NO_SERVERS=1) runs a fifth of them ("datainfra-fast") to stay
# under a minute. HYPOTHESIS_PROFILE overrides the choice. See tests/support/hypothesis_budget.py.
load_profile()
