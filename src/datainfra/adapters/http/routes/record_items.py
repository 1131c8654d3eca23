"""One record of a tabular dataset as a resource: GET, PUT, PATCH, DELETE .../records/{key}.

The key is the record's primary key as text (typed through the schema, as a CSV cell would be).
A composite key is its parts in the key's column order, comma-separated, each part
percent-encoded (a comma inside a value is %2C, a percent sign %25), e.g. .../records/Paris,2024-01-31.
A single-column key is the whole segment, percent-decoded (commas need no escaping there).

Every answer carrying a record carries its ETag (domain.record_versions.record_etag); PUT, PATCH
and DELETE take If-Match (a stale tag: 412; `*`: the record must exist), GET takes If-None-Match
(304). The check and the write are one atomic step in the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, patch, put
from litestar.datastructures import ResponseHeader
from litestar.openapi import ResponseSpec
from litestar.params import PathParameter

from datainfra.adapters.http.dependencies import PathDataset, Records
from datainfra.adapters.http.encoding import decode_json, encode_json
from datainfra.adapters.http.preconditions import IfMatchHeader, IfNoneMatchHeader, if_match, key_parts, none_match
from datainfra.adapters.http.problems import UnsupportedMediaType
from datainfra.adapters.http.schemas import RecordBody
from datainfra.domain.errors import InvalidInput
from datainfra.domain.model import Dataset
from datainfra.domain.record_versions import RecordKey, parse_record_key
from datainfra.services.records import VersionedRecord, require_tabular

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
ETAG = [
    ResponseHeader(
        name="ETag", description="The record's strong validator; send it back in If-Match.", documentation_only=True
    )
]

PUT_DOC = (
    "Every non-key column: one left out takes its default (NULL when it has none; a NOT NULL column "
    "without default must be given). Key columns may be given only with the URL's values."
)
PATCH_DOC = (
    "A JSON merge patch (RFC 7396): each member sets its column (null sets NULL), columns left out "
    "keep their value, an object for a json column merges into the object stored there."
)
PUT_BODY = {"body": {JSON: RecordBody}, "body_description": PUT_DOC, "errors": (412, 415)}
PATCH_BODY = {"body": {MERGE_PATCH: RecordBody, JSON: RecordBody}, "body_description": PATCH_DOC, "errors": (412, 415)}

KeyPath = Annotated[
    str,
    PathParameter(
        description="The primary key: one column's value as text; a composite key's parts in key-column order, "
        "comma-separated, each percent-encoded (a comma in a value is %2C).",
    ),
]


def _problems(*statuses: tuple[int, str]) -> dict[int, ResponseSpec]:
    """Statuses documented beside the success (application/problem+json documents)."""
    return {
        status: ResponseSpec(None, description=text, media_type="application/problem+json", generate_examples=False)
        for status, text in statuses
    }


NOT_FOUND = (404, "No record has this key (the problem's `key` names it).")
BAD_KEY = (422, "A key part or a body value that is not a value of its column (`field` names it).")
STALE = (412, "If-Match names no current tag of the record (or `*` and the record is absent); nothing written.")
NOT_MODIFIED = ResponseSpec(None, description="If-None-Match names the current tag.", generate_examples=False)


def _record_response(versioned: VersionedRecord) -> Response[Any]:
    return Response(encode_json(versioned.record), media_type=JSON, headers={"ETag": versioned.etag}, status_code=200)


async def _object_body(request: Request[Any, Any, Any], accepted: tuple[str, ...]) -> Mapping[str, Any]:
    media_type = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if media_type not in accepted:
        raise UnsupportedMediaType(f"Content-Type {media_type!r} is not accepted here; use {', '.join(accepted)}")
    body = decode_json(await request.body())
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object of column → value")
    return body


def _key(request: Request[Any, Any, Any], dataset: Dataset, key: str) -> RecordKey:
    schema = require_tabular(dataset)
    return parse_record_key(schema, key_parts(request, key, len(schema.primary_key)))


class RecordItemRoutes(Controller):
    path = "/sessions/{session_id:str}/datasets/{dataset_id:str}/records/{key:path}"
    tags = ["records"]

    @get(
        "/",
        summary="Read one record by its key",
        response_headers=ETAG,
        responses={304: NOT_MODIFIED, **_problems(NOT_FOUND, BAD_KEY)},
    )
    async def read(
        self,
        request: Request[Any, Any, Any],
        key: KeyPath,
        dataset: PathDataset,
        records: Records,
        if_none_match: IfNoneMatchHeader = None,
    ) -> Response[dict[str, Any]]:
        versioned = await records.get_one(dataset, _key(request, dataset, key))
        if none_match(request, versioned.etag):
            not_modified: Response[Any] = Response(b"", status_code=304, headers={"ETag": versioned.etag})
            return not_modified
        return _record_response(versioned)

    @put(
        "/",
        summary="Replace one record's non-key columns (If-Match: its ETag)",
        response_headers=ETAG,
        opt=PUT_BODY,
        responses=_problems(NOT_FOUND, BAD_KEY, STALE),
    )
    async def replace(
        self,
        request: Request[Any, Any, Any],
        key: KeyPath,
        dataset: PathDataset,
        records: Records,
        if_match_header: IfMatchHeader = None,
    ) -> Response[dict[str, Any]]:
        record_key = _key(request, dataset, key)
        body = await _object_body(request, (JSON,))
        return _record_response(await records.replace_one(dataset, record_key, body, if_match(request)))

    @patch(
        "/",
        summary="Merge-patch one record (If-Match: its ETag)",
        response_headers=ETAG,
        opt=PATCH_BODY,
        responses=_problems(NOT_FOUND, BAD_KEY, STALE),
    )
    async def modify(
        self,
        request: Request[Any, Any, Any],
        key: KeyPath,
        dataset: PathDataset,
        records: Records,
        if_match_header: IfMatchHeader = None,
    ) -> Response[dict[str, Any]]:
        record_key = _key(request, dataset, key)
        body = await _object_body(request, (MERGE_PATCH, JSON))
        return _record_response(await records.patch_one(dataset, record_key, body, if_match(request)))

    @delete(
        "/",
        summary="Delete one record (If-Match: its ETag)",
        status_code=204,
        responses=_problems(NOT_FOUND, BAD_KEY, STALE),
    )
    async def remove(
        self,
        request: Request[Any, Any, Any],
        key: KeyPath,
        dataset: PathDataset,
        records: Records,
        if_match_header: IfMatchHeader = None,
    ) -> None:
        await records.delete_one(dataset, _key(request, dataset, key), if_match(request))
