"""The Catalog contract: owner scoping, key hashes, name uniqueness and ordering, for every adapter."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from typing import Any

import pytest

from datainfra.domain.auth import hash_api_key, new_api_key
from datainfra.domain.errors import Conflict
from datainfra.domain.model import Session, User
from datainfra.domain.tabular_schema import parse_tabular_schema
from tests.contract.conftest import NOW, graph_dataset, new_session, tabular_dataset

SCHEMA = {"columns": [{"name": "a", "type": "text"}]}


def ordered_id(n: int, base: int) -> str:
    """A fresh uuid-shaped id whose text order, within one `base`, follows n."""
    return str(uuid.UUID(int=base + n))


def new_base() -> int:
    return uuid.uuid4().int >> 16 << 16


def new_user() -> User:
    return User(id=str(uuid.uuid4()), created_at=NOW)


async def registered(catalog: Any) -> tuple[User, str]:
    key_hash = hash_api_key(new_api_key())
    user = await catalog.create_user(new_user(), key_hash)
    return user, key_hash


async def stored_session(catalog: Any, owner: str | None = None, **changes: Any) -> Session:
    session = dataclasses.replace(new_session(owner), **changes)
    await catalog.add_session(session)
    return session


async def test_a_user_is_found_by_the_hash_of_its_active_key(catalog: Any) -> None:
    user, key_hash = await registered(catalog)
    assert user == await catalog.user_for_key(key_hash)
    assert await catalog.user_for_key(hash_api_key(new_api_key())) is None
    assert not await catalog.is_revoked(key_hash)


async def test_a_known_hash_cannot_create_another_user(catalog: Any) -> None:
    user, key_hash = await registered(catalog)
    with pytest.raises(Conflict):
        await catalog.create_user(new_user(), key_hash)
    assert await catalog.user_for_key(key_hash) == user


async def test_rotation_revokes_the_old_hash_for_good(catalog: Any) -> None:
    user, old_hash = await registered(catalog)
    new_hash = hash_api_key(new_api_key())
    await catalog.rotate_key(user.id, old_hash, new_hash)
    assert await catalog.user_for_key(old_hash) is None
    assert await catalog.is_revoked(old_hash)
    assert await catalog.user_for_key(new_hash) == user
    assert not await catalog.is_revoked(new_hash)
    with pytest.raises(Conflict):
        await catalog.create_user(new_user(), old_hash)
    assert await catalog.user_for_key(old_hash) is None


async def test_unknown_hash_is_not_revoked(catalog: Any) -> None:
    assert not await catalog.is_revoked(hash_api_key(new_api_key()))


async def test_sessions_are_scoped_by_owner(catalog: Any) -> None:
    session = await stored_session(catalog)
    stranger = str(uuid.uuid4())
    assert await catalog.get_session(session.owner_id, session.id) == session
    assert await catalog.get_session(stranger, session.id) is None
    assert await catalog.list_sessions(stranger) == []
    await catalog.remove_session(stranger, session.id)
    assert await catalog.get_session(session.owner_id, session.id) == session
    await catalog.update_session(dataclasses.replace(session, owner_id=stranger, name="stolen"))
    assert await catalog.get_session(session.owner_id, session.id) == session


async def test_sessions_list_by_creation_then_id(catalog: Any) -> None:
    owner, base = str(uuid.uuid4()), new_base()
    later = await stored_session(catalog, owner, created_at=NOW + dt.timedelta(seconds=1), id=ordered_id(2, base))
    first = await stored_session(catalog, owner, created_at=NOW, id=ordered_id(9, base))
    tied_low = await stored_session(catalog, owner, created_at=NOW + dt.timedelta(seconds=1), id=ordered_id(1, base))
    assert [s.id for s in await catalog.list_sessions(owner)] == [first.id, tied_low.id, later.id]


async def test_session_names_need_not_be_unique(catalog: Any) -> None:
    owner = str(uuid.uuid4())
    await stored_session(catalog, owner, name="same")
    await stored_session(catalog, owner, name="same")
    assert [s.name for s in await catalog.list_sessions(owner)] == ["same", "same"]


async def test_update_session_replaces_name_description_and_updated_at(catalog: Any) -> None:
    session = await stored_session(catalog)
    changed = dataclasses.replace(session, name="renamed", description="text", updated_at=NOW + dt.timedelta(hours=1))
    await catalog.update_session(changed)
    assert await catalog.get_session(session.owner_id, session.id) == changed


async def test_datasets_are_scoped_by_owner_and_session(catalog: Any) -> None:
    session = await stored_session(catalog)
    other_session = await stored_session(catalog, session.owner_id)
    dataset = tabular_dataset(session, SCHEMA)
    await catalog.add_dataset(dataset)
    stranger = str(uuid.uuid4())
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) == dataset
    assert await catalog.get_dataset(stranger, session.id, dataset.id) is None
    assert await catalog.get_dataset(session.owner_id, other_session.id, dataset.id) is None
    assert await catalog.find_dataset(session.owner_id, session.id, "items") == dataset
    assert await catalog.find_dataset(stranger, session.id, "items") is None
    assert await catalog.find_dataset(session.owner_id, other_session.id, "items") is None
    assert await catalog.list_datasets(stranger, session.id) == []
    await catalog.remove_dataset(stranger, session.id, dataset.id)
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) == dataset


async def test_dataset_name_clash_is_a_conflict(catalog: Any) -> None:
    session = await stored_session(catalog)
    await catalog.add_dataset(tabular_dataset(session, SCHEMA, name="same"))
    with pytest.raises(Conflict):
        await catalog.add_dataset(graph_dataset(session, name="same"))
    other_session = await stored_session(catalog, session.owner_id)
    await catalog.add_dataset(tabular_dataset(other_session, SCHEMA, name="same"))
    assert len(await catalog.list_datasets(session.owner_id, session.id)) == 1


async def test_datasets_list_by_creation_then_id(catalog: Any) -> None:
    session, base = await stored_session(catalog), new_base()
    for name, offset, ident in [
        ("c", 2, ordered_id(5, base)),
        ("a", 1, ordered_id(9, base)),
        ("b", 2, ordered_id(3, base)),
    ]:
        dataset = dataclasses.replace(
            tabular_dataset(session, SCHEMA, name=name), id=ident, created_at=NOW + dt.timedelta(seconds=offset)
        )
        await catalog.add_dataset(dataset)
    assert [d.name for d in await catalog.list_datasets(session.owner_id, session.id)] == ["a", "b", "c"]


async def test_update_dataset_replaces_schema_and_updated_at(catalog: Any) -> None:
    session = await stored_session(catalog)
    dataset = tabular_dataset(session, SCHEMA)
    await catalog.add_dataset(dataset)
    new_schema = parse_tabular_schema({"columns": [{"name": "a", "type": "text"}, {"name": "b", "type": "json"}]})
    later = NOW + dt.timedelta(minutes=5)
    await catalog.update_dataset(dataclasses.replace(dataset, schema=new_schema, updated_at=later))
    stored = await catalog.get_dataset(session.owner_id, session.id, dataset.id)
    assert stored == dataclasses.replace(dataset, schema=new_schema, updated_at=later)


async def test_update_dataset_with_an_expected_schema_is_a_compare_and_swap(catalog: Any) -> None:
    session = await stored_session(catalog)
    dataset = tabular_dataset(session, SCHEMA)
    await catalog.add_dataset(dataset)
    later = NOW + dt.timedelta(minutes=5)
    first = dataclasses.replace(dataset, schema=parse_tabular_schema({"columns": [{"name": "b", "type": "text"}]}))
    second = dataclasses.replace(
        dataset, schema=parse_tabular_schema({"columns": [{"name": "c", "type": "text"}]}), updated_at=later
    )
    assert await catalog.update_dataset(first, expected_schema=dataset.schema) is True
    assert await catalog.update_dataset(second, expected_schema=dataset.schema) is False  # stale
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) == first
    assert await catalog.update_dataset(second, expected_schema=first.schema) is True
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) == second
    other_owner = dataclasses.replace(second, owner_id=str(uuid.uuid4()))
    assert await catalog.update_dataset(other_owner, expected_schema=second.schema) is False
    absent = dataclasses.replace(second, id=str(uuid.uuid4()))
    assert await catalog.update_dataset(absent) is False


async def test_two_updates_expecting_the_same_schema_at_once_exactly_one_wins(catalog: Any) -> None:
    session = await stored_session(catalog)
    dataset = tabular_dataset(session, SCHEMA)
    await catalog.add_dataset(dataset)
    candidates = [
        dataclasses.replace(dataset, schema=parse_tabular_schema({"columns": [{"name": name, "type": "text"}]}))
        for name in ("b", "c")
    ]
    outcomes = await asyncio.gather(
        *(catalog.update_dataset(candidate, expected_schema=dataset.schema) for candidate in candidates)
    )
    assert sorted(outcomes) == [False, True]
    winner = candidates[outcomes.index(True)]
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) == winner


async def test_graph_dataset_schema_round_trips(catalog: Any) -> None:
    session = await stored_session(catalog)
    schema = {
        "node_labels": [{"name": "Person", "properties": [{"name": "age", "type": "integer"}]}],
        "relationship_types": [{"name": "KNOWS"}],
        "strict": True,
    }
    dataset = graph_dataset(session, schema)
    await catalog.add_dataset(dataset)
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) == dataset


async def test_remove_dataset(catalog: Any) -> None:
    session = await stored_session(catalog)
    dataset = tabular_dataset(session, SCHEMA)
    await catalog.add_dataset(dataset)
    await catalog.remove_dataset(session.owner_id, session.id, dataset.id)
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) is None
    await catalog.add_dataset(tabular_dataset(session, SCHEMA))  # the name is free again


async def test_remove_session_removes_its_datasets(catalog: Any) -> None:
    session = await stored_session(catalog)
    kept_session = await stored_session(catalog, session.owner_id)
    dataset = tabular_dataset(session, SCHEMA)
    kept = tabular_dataset(kept_session, SCHEMA)
    await catalog.add_dataset(dataset)
    await catalog.add_dataset(kept)
    await catalog.remove_session(session.owner_id, session.id)
    assert await catalog.get_session(session.owner_id, session.id) is None
    assert await catalog.get_dataset(session.owner_id, session.id, dataset.id) is None
    assert await catalog.list_datasets(session.owner_id, session.id) == []
    assert await catalog.list_sessions(session.owner_id) == [kept_session]
    assert await catalog.get_dataset(session.owner_id, kept_session.id, kept.id) == kept


async def test_facts_hold_while_the_key_is_active_and_the_dataset_unchanged(catalog: Any) -> None:
    user, key_hash = await registered(catalog)
    session = await stored_session(catalog, user.id)
    schema = {"node_labels": [{"name": "Person", "properties": [{"name": "age", "type": "integer"}]}]}
    dataset = graph_dataset(session, schema)
    await catalog.add_dataset(dataset)
    assert await catalog.facts_hold(key_hash, dataset) is True
    _other, other_hash = await registered(catalog)
    assert await catalog.facts_hold(other_hash, dataset) is False  # another owner's key
    assert await catalog.facts_hold(key_hash, dataclasses.replace(dataset, name="renamed")) is False
    later = dataclasses.replace(dataset, updated_at=NOW + dt.timedelta(minutes=5))
    assert await catalog.facts_hold(key_hash, later) is False
    migrated = dataclasses.replace(later, schema=graph_dataset(session, {"strict": True}).schema)
    await catalog.update_dataset(migrated)
    assert await catalog.facts_hold(key_hash, dataset) is False
    assert await catalog.facts_hold(key_hash, migrated) is True
    await catalog.rotate_key(user.id, key_hash, hash_api_key(new_api_key()))
    assert await catalog.facts_hold(key_hash, migrated) is False  # revoked


async def test_facts_do_not_hold_once_the_dataset_or_its_session_is_gone(catalog: Any) -> None:
    user, key_hash = await registered(catalog)
    for drop in ("dataset", "session"):
        session = await stored_session(catalog, user.id)
        dataset = tabular_dataset(session, SCHEMA)
        await catalog.add_dataset(dataset)
        assert await catalog.facts_hold(key_hash, dataset) is True
        if drop == "dataset":
            await catalog.remove_dataset(user.id, session.id, dataset.id)
        else:
            await catalog.remove_session(user.id, session.id)
        assert await catalog.facts_hold(key_hash, dataset) is False


async def test_ping(catalog: Any) -> None:
    await catalog.ping()
