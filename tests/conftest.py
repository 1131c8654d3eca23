"""Session-wide fixtures: the real servers a test run starts for itself (or takes from
DATAINFRA_TEST_DATABASE_URL / DATAINFRA_TEST_NEO4J_URI / DATAINFRA_TEST_CITUS_URL), started lazily on
first use."""

import pytest

from tests.support import citus_server
from tests.support.citus_fixtures import *  # noqa: F403
from tests.support.citus_fixtures import parametrize_tabular_engines
from tests.support.hypothesis_budget import load_profile
from tests.support.neo4j_fixtures import *  # noqa: F403
from tests.support.postgres_fixtures import *  # noqa: F403

# Hypothesis: `make test` runs every property test at its full example count (profile "datainfra");
# `make test-unit` (DATAINFRA_TEST_NO_SERVERS=1) runs a fifth of them ("datainfra-fast") to stay
# under a minute. HYPOTHESIS_PROFILE overrides the choice. See tests/support/hypothesis_budget.py.
load_profile()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_tabular_engines(metafunc)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A run that could not have Citus says so, whatever the report options."""
    if citus_server.SKIPPED:
        terminalreporter.write_line(f"Citus tests SKIPPED: {citus_server.SKIPPED[0]}", yellow=True, bold=True)
