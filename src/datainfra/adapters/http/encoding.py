"""JSON in and out. Numbers stay exact both ways: request numbers with a fraction or exponent decode
as Decimal (typed per column later), and Decimal values encode as JSON numbers, never strings."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request, Response

from datainfra.domain.errors import InvalidRequest
from datainfra.domain.json_depth import MAX_JSON_DEPTH, json_depth_exceeds, json_depth_refusal

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)


_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`")
_NAMED_FIELD = re.compile(r"field `([^`]*)`")


def body_field(message: str) -> str | None:
    """The body member a msgspec message points at ("... - at `$.a.b`", "unknown field `x`")."""
    at = _AT_PATH.search(message)
    named = _NAMED_FIELD.search(message)
    path = at.group(1) if at else ""
    if named:
        return f"{path}.{named.group(1)}" if path else named.group(1)
    return path or None


def json_response(document: Any, status_code: int = 200) -> Response[Any]:
    return Response(encode_json(document), status_code=status_code, media_type="application/json")


def decode_json(body: bytes) -> Any:
    """Decode a request body of any JSON shape (400 when malformed)."""
    return decode_struct(body, Any)


def convert(document: Any, type_: Any) -> Any:
    """An already decoded document → `type_`, with decode_struct's errors (one decode per body)."""
    try:
        return msgspec.convert(document, type_)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(str(exc), field=body_field(str(exc))) from None


def check_depth(document: bytes | str, what: str = "the JSON body", *, index: int | None = None) -> None:
    """400 for a JSON text nested past MAX_JSON_DEPTH, before a recursive decoder sees it."""
    if json_depth_exceeds(document, MAX_JSON_DEPTH):
        raise InvalidRequest(json_depth_refusal(what, MAX_JSON_DEPTH), index=index)


def decode_struct(body: bytes, type_: Any) -> Any:
    """Decode a request body; a malformed body or a shape error is a 400 naming where it went wrong."""
    if not body.strip():
        raise InvalidRequest("the request body is empty; send a JSON document")
    check_depth(body)
    try:
        decoder = _decoders.get(type_)
        if decoder is None:
            decoder = _decoders[type_] = msgspec.json.Decoder(type_, float_hook=Decimal)
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(str(exc), field=body_field(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidRequest("the request body is not valid UTF-8") from None


class BoundedRequest(Request[Any, Any, Any]):
    """Litestar's request whose JSON body (the typed bodies of routes that declare one) is measured
    by `check_depth` before Litestar decodes it."""

    async def json(self) -> Any:
        check_depth(await self.body())
        return await super().json()
