#!/bin/sh
# Run once by each Citus node on an empty volume: who may connect over the network. The superuser
# and every role log in with a password (scram-sha-256), except that a WORKER trusts non-superuser
# roles from the compose network: the coordinator reaches the workers as the role of the statement it
# runs (the API's role, each API user's own role), and it does not know their passwords. Workers
# publish no port; only the compose network (the coordinator, the API) reaches them.
set -eu
: "${CITUS_NODE_ROLE:?}"
{
    echo "local all all trust"
    echo "host all ${POSTGRES_USER} all scram-sha-256"
    if [ "$CITUS_NODE_ROLE" = worker ]; then
        echo "host all all samenet trust"
    fi
    echo "host all all all scram-sha-256"
} > "$PGDATA/pg_hba.conf"
