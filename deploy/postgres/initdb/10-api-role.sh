#!/bin/sh
# Run once by the postgres image on an empty volume (/docker-entrypoint-initdb.d), as the superuser
# POSTGRES_USER: makes the API's own role and database. The role is NOT a superuser: it may log in
# and create roles (CREATEROLE: one role per API user, which it then administers), and it owns its
# database (its catalog schema, its per-session schemas, REVOKE TEMPORARY from PUBLIC).
# What a superuser alone could do is skipped by the API with a notice (README "Deployment").
# A volume made before this script existed keeps its old role: see the README to demote it.
set -eu
: "${API_DB_USER:?}" "${API_DB_PASSWORD:?}" "${API_DB_NAME:?}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
    -v api_user="$API_DB_USER" -v api_password="$API_DB_PASSWORD" -v api_db="$API_DB_NAME" <<'SQL'
CREATE ROLE :"api_user" LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS
    PASSWORD :'api_password';
CREATE DATABASE :"api_db" OWNER :"api_user";
SQL
