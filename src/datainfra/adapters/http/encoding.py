"""JSON in and out. Numbers stay exact both ways: request numbers with a fraction or exponent decode
as Decimal (typed per column later), and Decimal values encode as JSON numbers, never strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Response

from datainfra.domain.errors import InvalidRequest

_encoder = msgspec.json.Encoder(decimal_format="number")
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode_json(value: Any) -> bytes:
    return _encoder.encode(value)


def json_response(document: Any, status_code: int = 200) -> Response[Any]:
    return Response(encode_json(document), status_code=status_code, media_type="application/json")


def decode_json(body: bytes) -> Any:
    """Decode a request body of any JSON shape (400 when malformed)."""
    return decode_struct(body, Any)


def decode_struct(body: bytes, type_: Any) -> Any:
    """Decode a request body; a malformed body or a shape error is a 400 naming where it went wrong."""
    if not body.strip():
        raise InvalidRequest("the request body is empty; send a JSON document")
    try:
        decoder = _decoders.get(type_)
        if decoder is None:
            decoder = _decoders[type_] = msgspec.json.Decoder(type_, float_hook=Decimal)
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `")
        field = path.rstrip("`").removeprefix("$").lstrip(".") or None
        raise InvalidRequest(message, field=field) from None
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidRequest("the request body is not valid UTF-8") from None
    except RecursionError:
        raise InvalidRequest("the JSON document is nested too deeply") from None
