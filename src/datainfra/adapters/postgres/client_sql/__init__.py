"""Client SQL: a user's own SQL statement over a session's tables, the query endpoint's PostgreSQL side.

The most security-critical code of the PostgreSQL adapter, in a room of its own:
- `guard`: the safe-mode check, done by PostgreSQL's own parser before anything reaches the server;
- `roles`: each user's own LOGIN role, the privilege boundary the server enforces;
- `runner`: the SqlQueryRunner port, which logs in as that role and runs the guarded statement;
- `results`: column types and values as the API sends them.

It shares with the rest of `adapters.postgres` only the connection plumbing (`pool`), the scrubbing of
internal names from errors (`errors`), the naming of schemas and roles (`identifiers`), the stored column
types (`sql_types`) and the catalog schema that holds the role-password secret (`migrations`). The tabular
store does not import it.
"""
