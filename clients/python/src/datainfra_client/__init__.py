"""datainfra-client: a Python client (sync and async) and the `datainfra` command-line tool.

from datainfra_client import Client
with Client() as client:  # key and URL: argument, DATAINFRA_API_KEY / DATAINFRA_URL, or config file
    session = client.create_session("demo")
"""

from datainfra_client.aio import AsyncClient
from datainfra_client.config import config_path
from datainfra_client.core import Progress, RetryPolicy
from datainfra_client.errors import (
    ApiError,
    BadRequest,
    ConfigError,
    Conflict,
    DatainfraError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
)
from datainfra_client.models import (
    Column,
    Dataset,
    ImportResult,
    IssuedKey,
    Page,
    Path,
    Paths,
    QueryResult,
    Session,
    Subgraph,
    WriteResult,
)
from datainfra_client.sync import Client

__all__ = [
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "Column",
    "ConfigError",
    "Conflict",
    "DatainfraError",
    "Dataset",
    "Forbidden",
    "ImportResult",
    "IssuedKey",
    "NotFound",
    "Page",
    "Path",
    "Paths",
    "PayloadTooLarge",
    "PreconditionFailed",
    "Progress",
    "QueryResult",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "Session",
    "Subgraph",
    "TransportError",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationError",
    "WriteResult",
    "config_path",
]
