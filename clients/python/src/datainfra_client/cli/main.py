"""`datainfra`: sessions, datasets, imports, exports, queries and records from the shell.

Exit codes (what a script can rely on):

    0  done
    1  the API refused the request (a 4xx problem document other than 404)
    2  usage: a bad option or argument, an unreadable file, no API key configured
    3  the service failed or could not be reached (5xx, network), after retries
    4  not found: no such session, dataset, record or node (404)
  130  interrupted (Ctrl-C)

Errors go to stderr as one line, `datainfra: error: <status> <title>: <detail> (field=..., index=...)`;
data goes to stdout; progress goes to stderr (a bar on a terminal, log lines otherwise)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click
import msgspec
from rich.console import Console

from datainfra_client.bodies import media_type_of
from datainfra_client.calls import OnConflict
from datainfra_client.cli.infer import infer
from datainfra_client.cli.output import FORMATS, print_records, print_rows
from datainfra_client.cli.progress import progress_for
from datainfra_client.config import config_path, write_config
from datainfra_client.core import ZIP
from datainfra_client.errors import (
    ApiError,
    ConfigError,
    DatainfraError,
    NotFound,
    ServerError,
    TransportError,
)
from datainfra_client.models import Dataset, Session
from datainfra_client.sync import Client

OK, API_ERROR, USAGE, UNAVAILABLE, NOT_FOUND, INTERRUPTED = 0, 1, 2, 3, 4, 130
F = TypeVar("F", bound=Callable[..., Any])

stderr = Console(stderr=True)
stdout = Console()


@dataclass
class Context:
    """What the group's options resolve to; the client is made on first use."""

    url: str | None
    api_key: str | None
    config: Path | None
    quiet: bool
    _client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.url, self.api_key, config=self.config)
        return self._client

    def session(self, name_or_id: str) -> Session:
        """A session by id or by name (a name two sessions share is a usage error)."""
        sessions = self.client.list_sessions()
        found = [s for s in sessions if s.id == name_or_id] or [s for s in sessions if s.name == name_or_id]
        if not found:
            raise NotFound(404, title="Not found", detail=f"no session {name_or_id!r}")
        if len(found) > 1:
            raise click.UsageError(f"{len(found)} sessions are named {name_or_id!r}; give the session's id")
        return found[0]

    def dataset(self, session: Session, name_or_id: str) -> Dataset:
        """A dataset of the session by id or by name."""
        for dataset in self.client.list_datasets(session.id):
            if name_or_id in (dataset.id, dataset.name):
                return dataset
        raise NotFound(404, title="Not found", detail=f"no dataset {name_or_id!r} in session {session.name!r}")


pass_context = click.make_pass_decorator(Context)


def session_option(function: F) -> F:
    return click.option("--session", "-s", "session", required=True, help="Session name or id.")(function)


def format_option(default: str = "table") -> Callable[[F], F]:
    return click.option(
        "--format",
        "-f",
        "format",
        type=click.Choice(FORMATS),
        default=default,
        show_default=True,
        help="Output format.",
    )


class DatainfraGroup(click.Group):
    """The top group: an exception from any command becomes one stderr line and its exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            code = exit_code(exc)
            if code is None:
                raise
            click.echo(error_line(exc), err=True)
            ctx.exit(code)


@click.group(cls=DatainfraGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--url", envvar="DATAINFRA_URL", help="API base URL [env DATAINFRA_URL; default http://127.0.0.1:8000].")
@click.option("--api-key", envvar="DATAINFRA_API_KEY", help="API key [env DATAINFRA_API_KEY].")
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Config file (TOML: url, api_key) [env DATAINFRA_CONFIG; default {config_path()}].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.version_option(package_name="datainfra-client")
@click.pass_context
def cli(ctx: click.Context, url: str | None, api_key: str | None, config: Path | None, quiet: bool) -> None:
    """datainfra: sessions, datasets, imports, exports and queries from the shell.

    Exit codes: 0 ok, 1 API refused (4xx), 2 usage, 3 service failed or unreachable (5xx, network),
    4 not found (404), 130 interrupted."""
    ctx.obj = Context(url, api_key, config, quiet)
    ctx.call_on_close(lambda: ctx.obj._client.close() if ctx.obj._client else None)


# -- register ---------------------------------------------------------------------------------------


@cli.command()
@click.option("--save", is_flag=True, help="Write the key and URL to the config file.")
@pass_context
def register(context: Context, save: bool) -> None:
    """Make a new user and print its API key."""
    issued = context.client.register()
    click.echo(issued.api_key)
    if save:
        path = write_config(issued.api_key, context.client.settings.base_url, context.config)
        click.echo(f"datainfra: saved the key to {path}", err=True)


# -- sessions ---------------------------------------------------------------------------------------


@cli.group()
def sessions() -> None:
    """List, create and delete sessions."""


@sessions.command("ls")
@format_option()
@pass_context
def sessions_ls(context: Context, format: str) -> None:
    """List your sessions."""
    items = context.client.list_sessions()
    rows = [[s.id, s.name, s.description, s.created_at] for s in items]
    print_rows(["id", "name", "description", "created_at"], rows, format, stdout)


@sessions.command("create")
@click.argument("name")
@click.option("--description", "-d", default=None, help="A description.")
@pass_context
def sessions_create(context: Context, name: str, description: str | None) -> None:
    """Create a session; prints its id."""
    click.echo(context.client.create_session(name, description).id)


@sessions.command("rm")
@click.argument("session")
@pass_context
def sessions_rm(context: Context, session: str) -> None:
    """Delete a session (by name or id) and every dataset in it."""
    context.client.delete_session(context.session(session).id)


# -- datasets ---------------------------------------------------------------------------------------


@cli.group()
def datasets() -> None:
    """List, create, show and delete datasets."""


@datasets.command("ls")
@session_option
@format_option()
@pass_context
def datasets_ls(context: Context, session: str, format: str) -> None:
    """List a session's datasets."""
    found = context.session(session)
    rows = [[d.id, d.name, d.kind, d.created_at] for d in context.client.list_datasets(found.id)]
    print_rows(["id", "name", "kind", "created_at"], rows, format, stdout)


@datasets.command("create")
@click.argument("name")
@session_option
@click.option("--kind", type=click.Choice(["tabular", "graph"]), default="tabular", show_default=True)
@click.option(
    "--column", "-c", "columns", multiple=True, help="name:type, `!` after the type for NOT NULL (age:integer)."
)
@click.option("--primary-key", "-k", "primary_key", default=None, help="Key columns, comma-separated.")
@click.option("--schema", "schema_text", default=None, help="The whole schema as JSON, or @file.json.")
@pass_context
def datasets_create(
    context: Context,
    name: str,
    session: str,
    kind: str,
    columns: Sequence[str],
    primary_key: str | None,
    schema_text: str | None,
) -> None:
    """Create a dataset; prints its id."""
    schema = _schema_of(schema_text, columns, primary_key)
    found = context.session(session)
    click.echo(context.client.create_dataset(found.id, name, schema, kind=kind).id)


@datasets.command("schema")
@click.argument("dataset")
@session_option
@pass_context
def datasets_schema(context: Context, dataset: str, session: str) -> None:
    """Print a dataset's schema (JSON)."""
    found = context.dataset(context.session(session), dataset)
    click.echo(msgspec.json.format(msgspec.json.encode(found.schema)).decode())


@datasets.command("rm")
@click.argument("dataset")
@session_option
@pass_context
def datasets_rm(context: Context, dataset: str, session: str) -> None:
    """Delete a dataset and its data."""
    owner = context.session(session)
    context.client.delete_dataset(owner.id, context.dataset(owner, dataset).id)


def _schema_of(text: str | None, columns: Sequence[str], primary_key: str | None) -> dict[str, Any]:
    if text is not None:
        raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
        try:
            document = msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--schema") from exc
        if not isinstance(document, dict):
            raise click.BadParameter("the schema is a JSON object", param_hint="--schema")
        return document
    schema: dict[str, Any] = {}
    if columns:
        parsed = []
        for spec in columns:
            name, _, kind = spec.partition(":")
            if not name or not kind:
                raise click.BadParameter(f"{spec!r} is not name:type", param_hint="--column")
            column: dict[str, Any] = {"name": name, "type": kind.rstrip("!")}
            if kind.endswith("!"):
                column["nullable"] = False
            parsed.append(column)
        schema["columns"] = parsed
    if primary_key:
        schema["primary_key"] = [part.strip() for part in primary_key.split(",")]
    return schema


# -- import and export --------------------------------------------------------------------------------


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@session_option
@click.option("--dataset", "-d", default=None, help="Dataset name or id (not for a session ZIP).")
@click.option("--create", is_flag=True, help="Create the dataset from the file's header and values if it is missing.")
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "ndjson", "parquet", "graphml", "json", "zip"]),
    default=None,
    help="The file's format (default: from its suffix).",
)
@click.option("--on-conflict", type=click.Choice(["error", "update", "ignore"]), default=None)
@click.option("--rename", "renames", multiple=True, help="old:new, for a session ZIP's datasets.")
@pass_context
def import_(
    context: Context,
    file: Path,
    session: str,
    dataset: str | None,
    create: bool,
    file_format: str | None,
    on_conflict: str | None,
    renames: Sequence[str],
) -> None:
    """Import FILE: CSV, NDJSON, Parquet into a tabular dataset; GraphML or node-link JSON into a graph;
    a session ZIP (from `export`) into the session."""
    try:
        media_type = media_type_of(file, file_format)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="FILE") from exc
    owner = context.session(session)
    progress = progress_for(f"import {file.name}", stderr, context.quiet)
    if media_type == ZIP:
        pairs = dict(_pair(r, "--rename") for r in renames)
        imported = context.client.import_session(owner.id, file, renames=pairs, progress=progress)
        progress.finish()
        for item in imported.datasets:
            click.echo(f"imported {item.get('name')} ({item.get('kind')})")
        return
    if dataset is None:
        raise click.UsageError("--dataset is needed for a file that is not a session ZIP")
    try:
        target = context.dataset(owner, dataset)
    except NotFound:
        if not create:
            raise
        kind, schema = infer(file, media_type)
        target = context.client.create_dataset(owner.id, dataset, schema, kind=kind)
        click.echo(f"datainfra: created {kind} dataset {dataset} ({target.id})", err=True)
    result = context.client.insert(
        owner.id,
        target.id,
        file,
        format=file_format,
        on_conflict=cast(OnConflict | None, on_conflict),
        progress=progress,
    )
    progress.finish()
    click.echo(
        f"imported into {target.name}: {result.inserted} inserted, {result.updated} updated, {result.ignored} ignored"
    )


@cli.command("export")
@session_option
@click.option("--dataset", "-d", default=None, help="Dataset name or id (without it: the whole session as a ZIP).")
@click.option("--output", "-o", required=True, help="File to write, or - for stdout.")
@click.option(
    "--format", "file_format", default=None, help="csv, json, ndjson, parquet; graphs: json, graphml, ndjson."
)
@click.option("--where", "-w", "wheres", multiple=True, help="field=op:value filter (tabular), repeatable.")
@click.option("--select", default=None, help="Columns, comma-separated.")
@click.option("--sort", default=None, help="field[:desc], comma-separated.")
@pass_context
def export(
    context: Context,
    session: str,
    dataset: str | None,
    output: str,
    file_format: str | None,
    wheres: Sequence[str],
    select: str | None,
    sort: str | None,
) -> None:
    """Export a dataset (or the session as a ZIP) to a file."""
    owner = context.session(session)
    label = f"export {output if output != '-' else 'stdout'}"
    progress = progress_for(label, stderr, context.quiet)
    if dataset is None:
        if output == "-":
            context.client.export_session(owner.id, sys.stdout.buffer, progress=progress)
        else:
            context.client.export_session(owner.id, output, progress=progress)
        return
    target = context.dataset(owner, dataset)
    if file_format is None and output != "-":
        suffix = Path(output).suffix.lower().lstrip(".")
        file_format = {"jsonl": "ndjson", "xml": "graphml"}.get(suffix, suffix) or None
    filters = _filters(wheres)
    lines = target.kind == "tabular" and (file_format or "csv") in ("csv", "ndjson")
    if lines and not filters and not context.quiet:  # rows are lines: the count gives the bar its end
        expected = context.client.get_dataset(owner.id, target.id).record_count
        header = 1 if (file_format or "csv") == "csv" else 0
        progress = progress_for(label, stderr, expected_rows=expected, header_lines=header)
    dest: Any = sys.stdout.buffer if output == "-" else output
    written = context.client.export(
        owner.id, target.id, dest, file_format, filters, select=select, sort=sort, progress=progress
    )
    if output != "-":
        click.echo(f"datainfra: wrote {written:,} bytes to {output}", err=True)


# -- query and records --------------------------------------------------------------------------------


@cli.command()
@session_option
@click.option("--sql", default=None, help="One SQL statement over the session's tabular datasets.")
@click.option("--cypher", default=None, help="One Cypher query over --dataset (a graph).")
@click.option("--dataset", "-d", default=None, help="The graph dataset a Cypher query runs on.")
@click.option("--param", "-p", "params", multiple=True, help="SQL: a value ($1, $2 ... in order); Cypher: name=value.")
@click.option("--write", is_flag=True, help="Allow writes (read_only false).")
@click.option("--max-rows", type=int, default=None)
@format_option()
@pass_context
def query(
    context: Context,
    session: str,
    sql: str | None,
    cypher: str | None,
    dataset: str | None,
    params: Sequence[str],
    write: bool,
    max_rows: int | None,
    format: str,
) -> None:
    """Run SQL or Cypher and print the rows (values of --param are JSON, else text)."""
    if (sql is None) == (cypher is None):
        raise click.UsageError("give exactly one of --sql and --cypher")
    owner = context.session(session)
    options: dict[str, Any] = {"max_rows": max_rows, "read_only": False if write else None}
    if sql is not None:
        result = context.client.sql(owner.id, sql, [_value(p) for p in params] or None, **options)
    else:
        if dataset is None:
            raise click.UsageError("--cypher needs --dataset (the graph it runs on)")
        named = {name: _value(text) for name, text in (_pair(p, "--param", "=") for p in params)}
        result = context.client.cypher(owner.id, dataset, cypher or "", named or None, **options)
    print_rows([c.name for c in result.columns], result.rows, format, stdout)
    if result.truncated:
        click.echo(f"datainfra: truncated at {result.row_count} rows (--max-rows)", err=True)


@cli.command()
@session_option
@click.option("--dataset", "-d", required=True, help="Dataset name or id.")
@click.option(
    "--where", "-w", "wheres", multiple=True, help="field=op:value (eq ne gt gte lt lte in nin like ilike is)."
)
@click.option("--select", default=None, help="Columns, comma-separated.")
@click.option("--sort", default=None, help="field[:desc], comma-separated.")
@click.option("--limit", "-n", type=int, default=None, help="At most this many records (default: every one).")
@format_option()
@pass_context
def records(
    context: Context,
    session: str,
    dataset: str,
    wheres: Sequence[str],
    select: str | None,
    sort: str | None,
    limit: int | None,
    format: str,
) -> None:
    """Print a dataset's records (nodes for a graph), filtered, page after page."""
    owner = context.session(session)
    target = context.dataset(owner, dataset)
    page_size = min(limit, 1000) if limit else 1000
    found = context.client.records(owner.id, target.id, _filters(wheres), select=select, sort=sort, page_size=page_size)
    print_records(_first(found, limit), format, stdout)


def _first(items: Iterator[dict[str, Any]], limit: int | None) -> Iterator[dict[str, Any]]:
    for number, item in enumerate(items):
        if limit is not None and number >= limit:
            return
        yield item


def _filters(wheres: Sequence[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for text in wheres:
        name, value = _pair(text, "--where", "=")
        if ":" not in value:
            value = f"eq:{value}"
        filters.setdefault(name, []).append(value)
    return filters


def _pair(text: str, option: str, separator: str = ":") -> tuple[str, str]:
    name, found, value = text.partition(separator)
    if not found or not name:
        raise click.BadParameter(f"{text!r} is not name{separator}value", param_hint=option)
    return name, value


def _value(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return text


# -- the entry point ----------------------------------------------------------------------------------


def exit_code(exc: BaseException) -> int | None:
    """The documented exit code of an exception the commands raise (None: not one of ours)."""
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, ServerError | TransportError):
        return UNAVAILABLE
    if isinstance(exc, ApiError):
        return API_ERROR
    if isinstance(exc, ConfigError | OSError | ValueError):
        return USAGE
    if isinstance(exc, DatainfraError):
        return API_ERROR
    return None


def error_line(exc: BaseException) -> str:
    """The one stderr line: `datainfra: error: ...`."""
    if isinstance(exc, KeyboardInterrupt):
        return "datainfra: error: interrupted"
    if isinstance(exc, ApiError):
        return f"datainfra: error: {exc.message()}"
    if isinstance(exc, TransportError):
        return f"datainfra: error: cannot reach the service: {exc}"
    return f"datainfra: error: {exc}"


def main(argv: Sequence[str] | None = None) -> None:
    """The console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="datainfra")


if __name__ == "__main__":
    main()

__all__ = ["cli", "main"]
