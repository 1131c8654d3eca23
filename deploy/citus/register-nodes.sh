#!/bin/sh
# Worker registration at start-up (the citus-register service of compose.citus.yaml): once every
# node is healthy, the coordinator learns its own address and each worker's. Idempotent: a restart
# finds the nodes registered and changes nothing. The superuser's password goes into each node's
# pg_dist_authinfo, for Citus's own connections between nodes (shard moves, the rebalancer).
set -eu
: "${POSTGRES_USER:?}" "${POSTGRES_PASSWORD:?}" "${POSTGRES_DB:?}" "${CITUS_WORKERS:?}"
export PGPASSWORD="$POSTGRES_PASSWORD"
run() {
    host=$1
    shift
    psql -v ON_ERROR_STOP=1 --no-psqlrc -h "$host" -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
        -v pw="password=$POSTGRES_PASSWORD" -v su="$POSTGRES_USER" "$@"
}
for node in coordinator $CITUS_WORKERS; do
    run "$node" <<'SQL'
INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo)
    SELECT 0, :'su', :'pw' WHERE NOT EXISTS (SELECT 1 FROM pg_dist_authinfo WHERE nodeid = 0 AND rolename = :'su');
SQL
done
run coordinator <<'SQL'
SELECT citus_set_coordinator_host('coordinator', 5432);
SQL
for worker in $CITUS_WORKERS; do
    run coordinator -v worker="$worker" <<'SQL'
SELECT citus_add_node(:'worker', 5432)
    WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = :'worker' AND nodeport = 5432);
SQL
done
echo "citus: coordinator and workers ($CITUS_WORKERS) registered"
