"""Session-wide fixtures: the real servers a test run starts for itself (or takes from
DATAINFRA_TEST_DATABASE_URL / DATAINFRA_TEST_NEO4J_URI), started lazily on first use."""

from tests.support.neo4j_fixtures import *  # noqa: F403
from tests.support.postgres_fixtures import *  # noqa: F403
