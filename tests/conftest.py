"""Session-wide fixtures: the real servers a test run starts for itself (or takes from
DATAINFRA_TEST_DATABASE_URL / DATAINFRA_TEST_NEO4J_URI), started lazily on first use."""

from hypothesis import settings

from tests.support.neo4j_fixtures import *  # noqa: F403
from tests.support.postgres_fixtures import *  # noqa: F403

# No per-example deadline: on a busy 2-core CI machine a GC pause would fail a property test that
# has nothing to do with time (a genuinely slow parser still shows in the run's duration).
settings.register_profile("datainfra", deadline=None)
settings.load_profile("datainfra")
