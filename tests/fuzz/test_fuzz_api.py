"""Issues 10 and 13: schemathesis against the API on the real stores, every operation, a bounded
budget: not one server error, and every answer as the document says (its status, media type, body
schema and headers).

The API runs as `python -m datainfra` (tests/fuzz/api_process.py) on a database of its own and the
run's Neo4j; its OpenAPI document (/schema/openapi.json) is loaded as a client would. Every
operation of the document gets EXAMPLES_PER_OPERATION cases, positive and negative, from
schemathesis; most of them are then pointed at the seeded session and datasets (tests/fuzz/world.py)
and many get query parameters and bodies of tests/fuzz/realistic.py, where the document says too
little. Every answer goes through schemathesis's checks `not_a_server_error`,
`status_code_conformance`, `content_type_conformance`, `response_schema_conformance` and
`response_headers_conformance` (CHECKS). Deterministic: a fixed seed, no example database.

A failure lists every 5xx, every answer the document does not describe (and every request left
unanswered) with its operation, the check, a curl command that reproduces it, the answer, and the
server's log lines for its request id."""

from __future__ import annotations

import json
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz import edges
from tests.fuzz import realistic as r
from tests.fuzz.api_process import RunningApi, fresh_database, running_api
from tests.fuzz.world import TIMEOUT, World

pytestmark = [pytest.mark.postgres, pytest.mark.neo4j]

SEED = 20261202
EXAMPLES_PER_OPERATION = 26
MORE_EXAMPLES = 48
"""For the operations with the most code behind them: writes, reads with filters, queries, schemas."""
FEWER_EXAMPLES = 12
"""For operations that take nothing but a key (or not even that)."""
MIN_REQUESTS = 1000
MIN_PER_OPERATION = 10
REAL_IDS = 85
"""Per cent of cases whose path parameters are the seeded ids (the rest keep schemathesis's values)."""
REALISTIC = 60
"""Per cent of cases whose body and query string are replaced by realistic.py's (where it has some)."""
OUR_KEY = 90
"""Per cent of cases sent with the world's API key (the rest keep schemathesis's header, or none)."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
MAX_REPORTED = 40
"""Failures shown in full (all are counted)."""

schemathesis.serializer.alias("application/zip", "application/octet-stream")
schemathesis.serializer.alias(["text/csv", "application/x-ndjson", "application/graphml+xml"], "text/plain")

DS = "/sessions/{session_id}/datasets/{dataset_id}"
LAST = [  # run after everything else, in this order: they remove or replace what the others read
    f"DELETE {DS}/records/{{key}}",
    f"PUT {DS}",
    f"DELETE {DS}/records",
    f"DELETE {DS}/edges",
    f"DELETE {DS}/edges/{{edge_id}}",
    f"DELETE {DS}/nodes/search",
    f"DELETE {DS}/nodes/{{node_id}}",
    f"DELETE {DS}",
    "POST /sessions/{session_id}/import",
    "DELETE /sessions/{session_id}",
    "POST /users/key",
]
GRAPH_ONLY = ("/edges", "/nodes", "/algorithms/")
RECORD_KEYS = [str(i) for i in range(1, len(r.TABLE_ROWS) + 1)]
"""The generated keys (`id`) of the seeded rows."""
MORE = {
    f"POST {DS}/records",
    f"PUT {DS}/records",
    f"GET {DS}/records",
    f"POST {DS}/records/search",
    f"GET {DS}/nodes",
    f"POST {DS}/nodes/search",
    f"GET {DS}/edges",
    f"GET {DS}/export",
    f"PUT {DS}",
    "POST /sessions/{session_id}/datasets",
    "POST /sessions/{session_id}/query",
}
FEWER = {"GET /health", "GET /ready", "GET /metrics", "POST /users", "GET /sessions"}
SPARE_TARGETS = {  # operation -> the throwaway target its real ids are
    f"PUT {DS}": "dataset",
    f"DELETE {DS}": "dataset",
    "POST /sessions/{session_id}/import": "session",
    "DELETE /sessions/{session_id}": "session",
}


@dataclass
class Sent:
    label: str
    status: int | None
    curl: str
    answer: str
    request_id: str | None
    check: str = "no answer"


@dataclass
class Tally:
    sent: int = 0
    by_operation: dict[str, dict[int, int]] = field(default_factory=dict)
    failures: list[Sent] = field(default_factory=list)
    by_check: dict[str, int] = field(default_factory=dict)
    samples: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    waiting_s: float = 0.0
    checking_s: float = 0.0
    off_document: int = 0
    """Requests whose path parameter is not one segment: judged by not_a_server_error alone."""

    def record(self, label: str, status: int) -> None:
        self.sent += 1
        counts = self.by_operation.setdefault(label, {})
        counts[status] = counts.get(status, 0) + 1


# -- shaping a generated case ------------------------------------------------------------------------


def _percent(draw: Callable[..., Any]) -> int:
    """0-99, 0 first: Hypothesis's simplest case is the realistic one."""
    return int(draw(st.integers(0, 99)))


def _pairs_to_query(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for name, value in pairs:
        query.setdefault(name, []).append(value)
    return query


def _realistic(
    label: str, kind: str, world: World, draw: Callable[..., Any]
) -> tuple[dict[str, list[str]] | None, Any, str | None]:
    """Query string, body and media type for `label` on a dataset of `kind` (None: keep schemathesis's)."""
    types = r.COLUMN_TYPES if kind == "tabular" else r.NODE_PROPERTY_TYPES
    filters = r.filter_pairs(types)
    paging = r.paging_pairs(types)
    json_type = "application/json"
    if label == f"GET {DS}/records" or label == f"GET {DS}/nodes":
        pairs = (draw(filters) if draw(st.booleans()) else []) + draw(paging)
        if kind == "graph" and draw(st.booleans()):
            pairs.append(("label", draw(r.labels)))
        return _pairs_to_query(pairs), None, None
    if label == f"GET {DS}/edges":
        pairs = draw(r.filter_pairs({"weight": "float", "since": "integer"})) + draw(paging)
        if draw(st.booleans()):
            pairs.append(("type", draw(r.rel_types)))
        return _pairs_to_query(pairs), None, None
    if label in (f"DELETE {DS}/records", f"DELETE {DS}/edges"):
        pairs = draw(filters) or [("all", draw(st.sampled_from(["true", "false", "1", "yes"])))]
        if label.endswith("/edges") and draw(st.booleans()):
            pairs.append(("type", draw(r.rel_types)))
        return _pairs_to_query(pairs), None, None
    if label == f"GET {DS}/export":
        formats = ["csv", "json", "ndjson", "graphml", "zip", ""]
        pairs = [("format", r.pick(draw, formats[:4], formats[4:])), *(draw(filters) if draw(st.booleans()) else [])]
        if draw(st.booleans()):
            pairs += draw(paging)
        return _pairs_to_query(pairs), None, None
    if label in (f"POST {DS}/records/search", f"POST {DS}/nodes/search"):
        return None, draw(r.search_body(types, label=kind == "graph")), json_type
    if label in (f"GET {DS}/nodes/{{node_id}}/neighbors", f"GET {DS}/nodes/search/neighbors"):
        return _pairs_to_query(draw(r.neighbors_pairs())), None, None
    if label == f"PUT {DS}/records":
        if draw(st.booleans()):
            rows = draw(st.lists(r.table_row() if kind == "tabular" else r.graph_node(), max_size=3))
            for row in rows:
                if kind == "tabular" and r.mostly(draw, 4):
                    row["id"] = draw(st.one_of(st.integers(1, 6), st.sampled_from(r.EDGE_INTS)))
            return None, {"records": rows}, json_type
        pairs = draw(filters) or [("all", "true")]
        body = {
            "set": draw(r.table_row(min_size=1)) if kind == "tabular" else draw(r.graph_node()).get("properties", {})
        }
        return _pairs_to_query(pairs), body, json_type
    if label == f"POST {DS}/records":
        on_conflict = (
            {"on_conflict": [draw(st.sampled_from(["error", "update", "ignore", "x"]))]}
            if draw(st.booleans())
            else None
        )
        shape = draw(st.integers(1, 10))
        if shape == 10:
            return None, draw(r.raw_json_bodies), "raw"
        if kind == "tabular":
            rows = draw(st.lists(r.table_row(), max_size=4))
            if shape <= 3:
                return on_conflict, r.csv_body(rows), "text/csv"
            if shape <= 5:
                return on_conflict, r.ndjson_body(rows), "application/x-ndjson"
            body = {"records": rows, **({"on_conflict": on_conflict["on_conflict"][0]} if on_conflict else {})}
            return None, body if shape < 9 else rows, json_type
        if shape <= 2:
            return on_conflict, draw(r.graphml()), "application/graphml+xml"
        if shape <= 4:
            return on_conflict, draw(r.node_link()), json_type
        if shape == 5:
            nodes = [{"kind": "node", **n} for n in draw(st.lists(r.graph_node(), max_size=3))]  # graph NDJSON
            return on_conflict, r.ndjson_body(nodes), "application/x-ndjson"
        return None, draw(r.graph_write()), json_type
    if label.startswith(f"POST {DS}/algorithms/"):
        query = _pairs_to_query([(n, v) for n, v in draw(paging) if n in ("limit", "offset")])
        if label.endswith("shortest_path") or label.endswith("all_shortest_paths"):
            return query, draw(r.path_body(all_paths=label.endswith("all_shortest_paths"))), json_type
        return query, draw(r.algorithm_body(label.rsplit("/", 1)[-1])), json_type
    if label == "POST /sessions/{session_id}/datasets":
        graph = draw(st.booleans())
        name = draw(
            st.one_of(st.from_regex(r"\Ad[0-9]{1,6}\Z"), st.sampled_from([r.TABLE_NAME, "", "1x", "a" * 64, "pg_x"]))
        )
        body = {"name": name, "kind": draw(st.sampled_from(["graph" if graph else "tabular", "table"]))}
        if r.mostly(draw, 10):
            body["schema"] = draw(r.graph_schema() if graph else r.tabular_schema())
        return None, body, json_type
    if label == f"PUT {DS}":
        if kind == "tabular":
            return None, draw(r.changed_table_schema()), json_type
        return None, {"schema": draw(r.graph_schema())}, json_type
    if label in (f"PUT {DS}/records/{{key}}", f"PATCH {DS}/records/{{key}}"):
        return None, draw(r.table_row()), json_type
    if label == "POST /sessions/{session_id}/query":
        return None, draw(r.query_body()), json_type
    if label == "POST /sessions/{session_id}/import":
        return None, draw(r.archive(world.archive)), "application/zip"
    return None, None, None


def _shape(case: Any, world: World, draw: Callable[..., Any]) -> tuple[str, str | None]:
    """Point `case` at the world and maybe make it realistic. Returns its label and the spare it uses."""
    label = f"{case.method.upper()} {case.path}"
    kind = "graph" if any(part in case.path for part in GRAPH_ONLY) else draw(st.sampled_from(["tabular", "graph"]))
    spare = None
    params = case.path_parameters or {}
    if params and _percent(draw) < REAL_IDS:
        target = SPARE_TARGETS.get(label)
        if target == "session":
            spare = "session"
            params["session_id"] = world.spare("session")
        elif target == "dataset":
            spare = kind
            params["session_id"] = world.session_id
            params["dataset_id"] = world.spare(kind)
        else:
            params["session_id"] = world.session_id
        if "dataset_id" in params and target is None:
            params["dataset_id"] = world.tabular_id if kind == "tabular" else world.graph_id
        if "node_id" in params:
            params["node_id"] = draw(r.node_ids)
        if "edge_id" in params:
            params["edge_id"] = draw(st.one_of(st.sampled_from(r.EDGE_IDS), st.text(max_size=8)))
        if "key" in params:  # the seeded rows' generated keys, or anything
            params["key"] = draw(st.one_of(st.sampled_from(RECORD_KEYS), st.text(max_size=8)))
    if _percent(draw) < REALISTIC:
        query, body, media_type = _realistic(label, kind, world, draw)
        if query is not None:
            case.query = query
        if media_type == "raw":
            case.body, case.media_type = body.encode(), "application/octet-stream"
            case.headers = {**(case.headers or {}), "Content-Type": "application/json"}
        elif media_type is not None:
            case.body, case.media_type = body, media_type
            if case.headers:
                case.headers.pop("Content-Type", None)
    return label, spare


# -- the run --------------------------------------------------------------------------------------------


def _ordered(operations: list[Any]) -> list[Any]:
    def position(op: Any) -> tuple[int, str]:
        label = f"{op.method.upper()} {op.path}"
        return (LAST.index(label) + 1 if label in LAST else 0, label)

    return sorted(operations, key=position)


def _checks_for(case: Any) -> list[Any]:
    """Every check, unless a path parameter breaks its documented shape (empty; or holding a `/`
    where the document says one segment: the server decodes the path before routing). Such a URL is
    another route's, or none, outside the document: only "not a server error" applies to it.
    realistic.py sends such values on purpose."""
    for name, value in (case.path_parameters or {}).items():
        if not isinstance(value, str):
            continue
        documented = case.operation.path_parameters.get(name)
        schema = documented.definition.get("schema", {}) if documented is not None else {}
        if value == "" or ("/" in value and "pattern" in schema):
            return [not_a_server_error]
    return CHECKS


@dataclass
class Sender:
    """Sends a case, counts it, and keeps every 5xx (and unanswered request) with its reproduction."""

    api: RunningApi
    world: World
    tally: Tally
    bodies: Path

    def send(self, case: Any, label: str, spare: str | None, headers: dict[str, str]) -> None:
        def curl() -> str:
            return _curl(case, headers, self.api.base_url, self.bodies)

        try:
            response = case.call(
                base_url=self.api.base_url, session=self.world.http, headers=dict(headers), timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            self.tally.record(label, 0)
            self.tally.failures.append(Sent(label, None, curl(), f"no answer: {exc!r}", None))
            self.tally.by_check["no answer"] = self.tally.by_check.get("no answer", 0) + 1
            if not self.api.alive():
                raise AssertionError(
                    f"the API process died ({self.api.process.returncode}) on {label}:\n{curl()}"
                ) from exc
            return
        self.tally.record(label, response.status_code)
        self.tally.waiting_s += response.elapsed
        checking = time.monotonic()
        try:
            checks = _checks_for(case)
            self.tally.off_document += checks is not CHECKS
            case.validate_response(response, checks=checks, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup: one failure per check
            answer = response.content[:600].decode("utf-8", "replace")
            for failure in getattr(exc, "exceptions", [exc]):
                check = f"{type(failure).__name__}: {getattr(failure, 'title', '')}"
                self.tally.by_check[check] = self.tally.by_check.get(check, 0) + 1
                detail = f"{getattr(failure, 'message', str(failure))}\n  answer: {answer}"
                self.tally.failures.append(
                    Sent(label, response.status_code, curl(), detail, _header(response, "x-request-id"), check)
                )
        finally:
            self.tally.checking_s += time.monotonic() - checking
        if os.environ.get("FUZZ_SAMPLES"):
            kept = self.tally.samples.setdefault((label, response.status_code), [])
            if len(kept) < 3:
                kept.append(f"{curl()[:400]}\n      -> {response.content[:300].decode('utf-8', 'replace')}")
        if 200 <= response.status_code < 300:
            if spare is not None and label.startswith(("DELETE", "POST")):
                self.world.used_up(spare)
            if label == "POST /users/key":
                self.world.key = json.loads(response.content)["api_key"]
                self.world.keys_seen.add(self.world.key)


def _fuzz_operation(operation: Any, sender: Sender) -> None:
    world = sender.world
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]

    label = f"{operation.method.upper()} {operation.path}"
    examples = MORE_EXAMPLES if label in MORE else FEWER_EXAMPLES if label in FEWER else EXAMPLES_PER_OPERATION

    @seed(SEED)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(data=st.data())
    def one_case(data: Any) -> None:
        case = data.draw(st.one_of(strategies), label="case")
        label, spare = _shape(case, world, data.draw)
        headers = {}
        if _percent(data.draw) < OUR_KEY:
            headers["X-API-Key"] = world.key
        elif case.headers and isinstance(case.headers.get("X-API-Key"), str):
            world.keys_seen.add(case.headers["X-API-Key"])
        if case.headers and isinstance(case.headers.get("Authorization"), str):  # Bearer <key>: the same key
            world.keys_seen.add(case.headers["Authorization"].strip().partition(" ")[2].strip())
        sender.send(case, label, spare, headers)

    one_case()


def _sweep(operations: list[Any], sender: Sender) -> None:
    """tests/fuzz/edges.py's probes, each a schemathesis case of its operation."""
    world = sender.world
    by_label = {f"{op.method.upper()} {op.path}": op for op in operations}
    for probe in edges.probes(world.session_id, world.tabular_id, world.graph_id, world.spare("session")):
        case = by_label[probe.label].Case(path_parameters=probe.path_parameters, query=probe.query)
        headers = {"X-API-Key": world.key}
        if probe.media_type == "raw-json":
            case.body, case.media_type = probe.body.encode(), "application/octet-stream"
            headers["Content-Type"] = "application/json"
        elif probe.body is not None:
            case.body, case.media_type = probe.body, probe.media_type
        sender.send(case, probe.label, None, headers)
    label = "POST /sessions/{session_id}/import"
    for archive in edges.damaged_archives(world.archive):
        case = by_label[label].Case(path_parameters={"session_id": world.spare("session")})
        case.body, case.media_type = archive, "application/zip"
        sender.send(case, label, "session", {"X-API-Key": world.key})


def _curl(case: Any, headers: dict[str, str], base_url: str, bodies: Path) -> str:
    """A curl command sending what `case.call` sends (the test key in clear: it is a throwaway one);
    a body that is not text goes to a file beside the server log."""
    sent = case.as_transport_kwargs(base_url=base_url, headers=dict(headers))
    request = requests.Request(
        sent["method"],
        sent["url"],
        params=sent.get("params"),
        headers=sent.get("headers"),
        data=sent.get("data"),
        json=sent.get("json"),
        cookies=sent.get("cookies"),
    ).prepare()
    parts = ["curl", "-X", request.method or "GET"]
    for name, value in request.headers.items():
        if name.lower() not in (
            "user-agent",
            "accept-encoding",
            "accept",
            "connection",
            "x-schemathesis-testcaseid",
            "content-length",
        ):
            parts += ["-H", f"{name}: {value}"]
    body = request.body
    if body is not None:
        raw = body if isinstance(body, bytes) else body.encode()
        text = raw.decode("utf-8", "replace")
        if text.encode() == raw and len(text) <= 2000 and not any(c < " " and c not in "\n\r\t" for c in text):
            parts += ["--data-binary", text]
        else:
            bodies.mkdir(exist_ok=True)
            path = bodies / f"body-{len(list(bodies.iterdir()))}.bin"
            path.write_bytes(raw)
            parts += ["--data-binary", f"@{path}"]
    parts.append(request.url or "")
    return shlex.join(parts)


def _header(response: Any, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name:
            return str(values[0]) if isinstance(values, list) else str(values)
    return None


def _server_lines(api: RunningApi, request_id: str | None) -> str:
    """The server's log lines for one request: the access line and, for a 500, the traceback's end."""
    if not request_id:
        return ""
    out = []
    for line in api.log_path.read_text(errors="replace").splitlines():
        if request_id not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            out.append(line[:2000])
            continue
        exception = entry.pop("exception", None)
        out.append(json.dumps(entry))
        if exception:
            out.append("\n".join(str(exception).splitlines()[-12:]))
    return "\n".join(out)


def _report(tally: Tally, api: RunningApi) -> str:
    out = [f"{len(tally.failures)} failed checks or unanswered requests in {tally.sent} requests:"]
    out += [f"  {count} x {check}" for check, count in sorted(tally.by_check.items())]
    for sent in tally.failures[:MAX_REPORTED]:
        out.append(f"\n- {sent.label} -> {sent.status or 'no answer'} [{sent.check}]\n  {sent.curl}\n  {sent.answer}")
        lines = _server_lines(api, sent.request_id)
        if lines:
            out.append(f"  server log:\n{lines}")
    return "\n".join(out)


@pytest.mark.timeout(900)
def test_schemathesis_finds_every_answer_as_documented_on_every_operation(
    postgres_runtime: Any, neo4j_runtime: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    begun = time.monotonic()
    with (
        fresh_database(postgres_runtime.url()) as database_url,
        running_api(database_url, neo4j_runtime.endpoint(), tmp_path) as api,
        requests.Session() as http,
    ):
        world = World(http, api.base_url).build()
        ready_s = time.monotonic() - begun
        document = http.get(f"{api.base_url}/schema/openapi.json", timeout=TIMEOUT).json()
        schema = schemathesis.openapi.from_dict(document)
        operations = _ordered([result.ok() for result in schema.get_all_operations()])
        documented = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item if m != "parameters"}
        assert {f"{op.method.upper()} {op.path}" for op in operations} == documented

        tally, fuzzed = Tally(), 0
        sender = Sender(api, world, tally, tmp_path / "bodies")
        started = time.monotonic()
        try:
            for operation in operations:
                _fuzz_operation(operation, sender)
            fuzzed = tally.sent
            _sweep(operations, sender)
        finally:
            elapsed = time.monotonic() - started
            left = world.clean_up() if api.alive() else []
            cleaning_s = time.monotonic() - started - elapsed
            with capsys.disabled():  # the budget actually spent, in every run's output
                print(
                    f"\nfuzz: {tally.sent} requests ({fuzzed} fuzzed, the rest the edge-value sweep) on "
                    f"{len(operations)} operations in {elapsed:.0f} s "
                    f"(seed {SEED}; {ready_s:.0f} s to start, {cleaning_s:.0f} s to clean up), "
                    f"{len(tally.failures)} failed checks or unanswered requests "
                    f"({', '.join(f'{n} {c}' for c, n in sorted(tally.by_check.items())) or 'none'}; checks: "
                    f"{', '.join(check.__name__ for check in CHECKS)}; {tally.off_document} requests off the "
                    "document's paths, by not_a_server_error alone)"
                )
            print("statuses by operation:")
            for label, counts in sorted(tally.by_operation.items()):
                print(f"  {label}: {json.dumps(dict(sorted(counts.items())))}")
            print(f"fuzz: {tally.waiting_s:.0f} s of it waiting for answers, {tally.checking_s:.0f} s checking them")
            if os.environ.get("FUZZ_SAMPLES"):
                for (label, status), kept in sorted(tally.samples.items()):
                    print(f"== {label} {status}\n    " + "\n    ".join(kept))
        assert api.alive(), f"the API process died:\n{api.log_tail()}"
        if tally.failures:
            pytest.fail(_report(tally, api), pytrace=False)
        assert not left, f"sessions left behind: {left}"
        assert fuzzed >= MIN_REQUESTS, f"only {fuzzed} requests were fuzzed (budget: at least {MIN_REQUESTS})"
        starved = {label: sum(counts.values()) for label, counts in tally.by_operation.items()}
        starved = {label: n for label, n in starved.items() if n < MIN_PER_OPERATION}
        assert len(tally.by_operation) == len(operations) and not starved, f"operations barely fuzzed: {starved}"
