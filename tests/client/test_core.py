"""The client's pieces that need no server (they run in `make test-unit` too): filters, retry
timing, problem mapping, configuration, upload bodies, schema guessing and page following."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path

import httpx
import msgspec
import pytest
from datainfra_client import Client, RetryPolicy, errors
from datainfra_client.bodies import records_body
from datainfra_client.cli.infer import infer
from datainfra_client.config import resolve
from datainfra_client.core import CSV, filter_text, parse_retry_after, query_params


def test_filters_are_written_as_the_api_reads_them() -> None:
    assert filter_text("gte:18") == ["gte:18"]
    assert filter_text(("gte", 18)) == ["gte:18"]
    assert filter_text("Ada") == ["eq:Ada"]
    assert filter_text(True) == ["eq:true"]
    assert filter_text(None) == ["is:null"]
    assert filter_text(("in", ["a,b", "c"])) == ['in:"a,b",c']
    assert query_params({"age": ["gte:18", "lt:65"]}, select=["a", "b"], sort="age:desc", limit=5) == (
        ("age", "gte:18"),
        ("age", "lt:65"),
        ("select", "a,b"),
        ("sort", "age:desc"),
        ("limit", "5"),
    )


def test_retry_after_is_read_as_seconds_or_a_date_and_capped() -> None:
    assert parse_retry_after("7") == 7.0
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (parse_retry_after(later) or 0) <= 60
    assert parse_retry_after("soon") is None
    policy = RetryPolicy(backoff=1.0, max_delay=10.0, jitter=lambda: 0.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert policy.delay(1, "120") == 10.0


def test_problem_documents_become_the_exception_of_their_status() -> None:
    body = msgspec.json.encode(
        {
            "type": "urn:datainfra:problem:x",
            "title": "Unprocessable",
            "status": 422,
            "detail": "bad",
            "field": "age",
            "index": 3,
        }
    )
    problem = errors.problem_error(422, body)
    assert isinstance(problem, errors.ValidationError)
    assert (problem.status, problem.type, problem.field, problem.index) == (422, "urn:datainfra:problem:x", "age", 3)
    assert str(problem) == "422 Unprocessable: bad (field=age, index=3)"
    assert isinstance(errors.problem_error(503, b""), errors.ServiceUnavailable)
    assert isinstance(errors.problem_error(504, b"<html>gateway</html>", "Gateway Timeout"), errors.ServerError)
    assert errors.problem_error(418, b"teapot").detail == "teapot"


def test_the_key_comes_from_the_argument_then_the_environment_then_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('url = "http://file:1"\napi_key = "from-file"\n')
    monkeypatch.delenv("DATAINFRA_API_KEY", raising=False)
    monkeypatch.delenv("DATAINFRA_URL", raising=False)
    assert resolve(config=config) == resolve(None, None, config)
    assert (resolve(config=config).api_key, resolve(config=config).base_url) == ("from-file", "http://file:1")
    monkeypatch.setenv("DATAINFRA_API_KEY", "from-env")
    assert resolve(config=config).api_key == "from-env"
    assert resolve("from-arg", config=config).api_key == "from-arg"
    config.write_text("not toml [")
    with pytest.raises(errors.ConfigError):
        resolve(config=config)


def test_a_one_shot_iterator_is_sent_again_whole_after_an_interrupted_try() -> None:
    body = records_body(iter([{"n": n} for n in range(5000)]))
    first = body.chunks()
    partial = next(first)  # the first try broke off after one chunk
    again = b"".join(body.chunks())
    assert again.startswith(partial) and again.count(b"\n") == 5000
    assert b"".join(body.chunks()) == again


def test_import_create_guesses_column_types_from_a_csv(tmp_path: Path) -> None:
    source = tmp_path / "m.csv"
    source.write_text("id,n,x,ok,day,at,t\n1,1,1.5,true,2024-01-02,2024-01-02T03:04:05Z,a\n2,,2,false,,2024-01-02,\n")
    kind, schema = infer(source, CSV)
    assert kind == "tabular" and schema["primary_key"] == ["id"]
    assert {c["name"]: c["type"] for c in schema["columns"]} == {
        "id": "integer",
        "n": "integer",
        "x": "float",
        "ok": "boolean",
        "day": "date",
        "at": "timestamp",
        "t": "text",
    }


def test_pages_are_followed_by_get_by_search_body_and_by_reposting_the_body() -> None:
    seen: list[tuple[str, str, bytes]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url.copy_with(scheme=None, host=None)), request.content))
        page = len(seen)
        if request.url.path.endswith("/records"):
            more = {"next": "/sessions/s/datasets/d/records?cursor=c2"} if page == 1 else {}
        elif request.url.path.endswith("/search"):
            more = {"next": {"where": {"a": {"eq": 1}}, "cursor": "c2"}} if page == 1 else {}
        else:
            more = {"next": "/sessions/s/datasets/d/algorithms/degree?limit=1&offset=1"} if page == 1 else {}
        return httpx.Response(200, json={"items": [page], "limit": 1, "offset": 0, **more})

    def run(fetch: str) -> list[tuple[str, str, bytes]]:
        seen.clear()
        with Client("http://x", "k" * 16, transport=httpx.MockTransport(answer)) as client:
            items = {
                "get": lambda: client.records("s", "d", page_size=1),
                "search": lambda: client.search("s", "d", {"a": {"eq": 1}}, page_size=1),
                "repost": lambda: client.degree("s", "d", page_size=1, direction="out"),
            }[fetch]()
            assert list(items) == [1, 2]
        return list(seen)

    assert [(m, u) for m, u, _ in run("get")] == [
        ("GET", "/sessions/s/datasets/d/records?limit=1"),
        ("GET", "/sessions/s/datasets/d/records?cursor=c2"),
    ]
    searched = run("search")
    assert msgspec.json.decode(searched[1][2]) == {"where": {"a": {"eq": 1}}, "cursor": "c2"}
    reposted = run("repost")
    assert reposted[1][1] == "/sessions/s/datasets/d/algorithms/degree?limit=1&offset=1"
    assert msgspec.json.decode(reposted[1][2]) == {"direction": "out"}
