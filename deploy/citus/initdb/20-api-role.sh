#!/bin/sh
# Run once by each Citus node (citusdata/citus image, /docker-entrypoint-initdb.d) on an empty volume,
# as the superuser, in POSTGRES_DB (the API's database: the image has made the citus extension there).
# The API's own role, on every node (Citus would also copy it to a node when the node is added; made
# here it exists before that, with the same password): LOGIN CREATEROLE, not a superuser, owner of the
# database (its catalog schema, the per-session schemas). The same as deploy/postgres/initdb/10-api-role.sh.
set -eu
: "${API_DB_USER:?}" "${API_DB_PASSWORD:?}" "${POSTGRES_DB:?}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v api_user="$API_DB_USER" -v api_password="$API_DB_PASSWORD" -v api_db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"api_user" LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS
    PASSWORD :'api_password';
ALTER DATABASE :"api_db" OWNER TO :"api_user";
SQL
