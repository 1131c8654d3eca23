"""Neo4j errors to domain errors by cause (adapters/neo4j/driver.translated_errors), without a
server: errors the driver would hydrate from the server's codes. Bad input is 4xx, a deadlock left
after retries is 409, only an unreachable store is 503; no message carries our storage names."""

from __future__ import annotations

import re

import pytest
from neo4j import exceptions as neo4j_errors

from datainfra.adapters.neo4j.driver import translated_errors, unique_violation
from datainfra.adapters.neo4j.namespacing import client_terms
from datainfra.adapters.neo4j.schema_ops import transient
from datainfra.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    StoreTimeout,
    StoreUnavailable,
)

HEX = "0123456789abcdef" * 2
INTERNAL = re.compile(r"[DLR]_[0-9a-f]{32}|datainfra_[0-9a-f]{32}|#id|#o:|Node\(\d|Relationship\(\d")


def server_error(code: str, message: str) -> neo4j_errors.Neo4jError:
    return neo4j_errors.Neo4jError._hydrate_neo4j(code=code, message=message)


CASES = [
    (
        "Neo.ClientError.Schema.ConstraintValidationFailed",
        f"Relationship(94) already exists with type 'R_{HEX}' and property '#id' = 'e1'",
        Conflict,
    ),
    (
        "Neo.ClientError.Schema.ConstraintValidationFailed",
        f"Node(12) already exists with label `L_{HEX}__Person` and property `email` = 'a@x'",
        Conflict,
    ),
    (
        "Neo.TransientError.Transaction.DeadlockDetected",
        f"ForsetiClient[transactionId=29] can't acquire ExclusiveLock on INDEX_ENTRY(-8) of `D_{HEX}`",
        Conflict,
    ),
    ("Neo.TransientError.Transaction.LockClientStopped", "lock client stopped", StoreTimeout),
    ("Neo.ClientError.Transaction.TransactionTimedOutClientConfiguration", "timed out", StoreTimeout),
    ("Neo.TransientError.General.MemoryPoolOutOfMemoryError", "memory", PayloadTooLarge),
    ("Neo.TransientError.General.DatabaseUnavailable", "database unavailable", StoreUnavailable),
    ("Neo.ClientError.Statement.ArgumentError", f"Property value is too large to index `L_{HEX}__Doc`", InvalidInput),
    ("Neo.ClientError.Statement.TypeError", f"Cannot merge `#o:score` on `D_{HEX}`", InvalidInput),
    ("Neo.ClientError.Statement.ArithmeticError", "/ by zero", InvalidInput),
    ("Neo.DatabaseError.Statement.ExecutionFailed", "Property value is too large to index", InvalidInput),
]


@pytest.mark.parametrize(("code", "message", "expected"), CASES)
def test_store_errors_are_domain_errors_by_cause_without_our_names(
    code: str, message: str, expected: type[DomainError]
) -> None:
    with pytest.raises(expected) as caught, translated_errors():
        raise server_error(code, message)
    assert not INTERNAL.search(caught.value.detail), caught.value.detail


def test_only_an_unreachable_store_is_503() -> None:
    with pytest.raises(StoreUnavailable), translated_errors():
        raise neo4j_errors.ServiceUnavailable("connection refused")
    with pytest.raises(neo4j_errors.Neo4jError), translated_errors():
        raise server_error("Neo.ClientError.Statement.SyntaxError", "our template is wrong")  # a bug: 500


def test_unique_violations_name_the_clients_label_and_properties() -> None:
    assert unique_violation(f"Node(1) already exists with label `L_{HEX}__Person` and property `email` = 'x'") == (
        "a value that must be unique already exists (Person: email)"
    )
    composite = f"Node(1) already exists with label `L_{HEX}__Person` and properties `age`, `#o:score` = 1, '2'"
    assert unique_violation(composite) == "a value that must be unique already exists (Person: age, score)"
    assert unique_violation(f"Node(1) already exists with label `D_{HEX}` and property `#id` = 'a'") == (
        "a node with this id already exists"
    )
    assert unique_violation("something else entirely") == "a node or edge with this id already exists"


def test_client_terms_maps_every_internal_name_away() -> None:
    text = client_terms(
        f"`L_{HEX}__Person` and `D_{HEX}` via `R_{HEX}` in `datainfra_{HEX}_uq_1` on `#o:score`, `#id` of "
        "Node(3)\nthe rest echoes our statement"
    )
    assert text == "Person and (dataset) via (relationship) in (index) on score, id of Node"


def test_deadlocks_are_retried_and_memory_is_not() -> None:
    assert transient(server_error("Neo.TransientError.Transaction.DeadlockDetected", "deadlock"))
    assert transient(server_error("Neo.TransientError.Transaction.LockClientStopped", "stopped"))
    assert not transient(server_error("Neo.TransientError.General.MemoryPoolOutOfMemoryError", "memory"))
    assert not transient(server_error("Neo.ClientError.Statement.SyntaxError", "syntax"))
