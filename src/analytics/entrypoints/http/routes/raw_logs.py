"""GET /raw_logs: page through a key's logs, as JSON or CSV; DELETE /raw_logs: delete them."""

# No `from __future__ import annotations`: dependency-injector reads the Provide markers
# from the evaluated signature.

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Annotated

from dependency_injector.wiring import Provide, inject
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from analytics.application.delete_raw_logs import DeleteRawLogs
from analytics.application.list_raw_logs import ListRawLogs
from analytics.containers import Container
from analytics.domain.keys import ApiKey
from analytics.domain.logs import StoredLog
from analytics.entrypoints.http.errors import READ_ERRORS
from analytics.entrypoints.http.schemas.logs import RAW_LOG_COLUMNS, Deleted, RawLog
from analytics.entrypoints.http.schemas.queries import (
    RawLogFilterParams,
    RawLogFormat,
    RawLogQuery,
)
from analytics.entrypoints.http.security import current_key

router = APIRouter(tags=["raw logs"])

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"


@router.get(
    "/raw_logs",
    summary="The key's logs, newest first",
    response_model=list[RawLog],
    description=(
        "Filters combine; paging with `limit`, `offset` and, for deep pages, `before_id`. "
        "`Accept: text/csv` or `format=csv` gives the same rows as CSV, with a header row."
    ),
    responses={
        200: {
            "description": "The logs, newest first (`created_at`, then `id`, descending).",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
        },
        **READ_ERRORS,
    },
)
@inject
def raw_logs(
    key: Annotated[ApiKey, Depends(current_key)],
    query: Annotated[RawLogQuery, Query()],
    list_logs: Annotated[ListRawLogs, Depends(Provide[Container.list_raw_logs])],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> object:
    rows = list_logs.execute(key, query.to_filter(), query.to_page())
    if _wants_csv(query.format, accept):
        return StreamingResponse(
            _csv_lines(rows),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="raw_logs.csv"'},
        )
    return [RawLog.of(row) for row in rows]


@router.delete(
    "/raw_logs",
    summary="Delete the key's logs that match the filters",
    description=(
        "The filters of `GET /raw_logs`, combined; without any, every log of the key. The "
        "logs are also taken out of `/dashboard`, which afterwards describes the logs that "
        "remain (see docs/storage.md for logs that retention already removed). Only a full "
        "key may delete (an ingest key gets 403); it reaches only its own logs."
    ),
    responses=READ_ERRORS,
)
@inject
def delete_raw_logs(
    key: Annotated[ApiKey, Depends(current_key)],
    query: Annotated[RawLogFilterParams, Query()],
    delete_logs: Annotated[DeleteRawLogs, Depends(Provide[Container.delete_raw_logs])],
) -> Deleted:
    return Deleted(deleted=delete_logs.execute(key, query.to_filter()))


def _wants_csv(requested: RawLogFormat | None, accept: str | None) -> bool:
    if requested is not None:
        return requested is RawLogFormat.CSV
    return _preferred(accept or "") == CSV_MEDIA_TYPE


def _preferred(accept: str) -> str:
    """JSON or CSV, whichever the Accept header ranks higher (JSON on a tie)."""
    quality = {JSON_MEDIA_TYPE: 0.0, CSV_MEDIA_TYPE: 0.0}
    for media_range in accept.split(","):
        media_type, *parameters = (part.strip() for part in media_range.split(";"))
        media_type = media_type.lower()
        if media_type in quality:
            quality[media_type] = max(quality[media_type], _q(parameters))
    if quality[CSV_MEDIA_TYPE] > quality[JSON_MEDIA_TYPE]:
        return CSV_MEDIA_TYPE
    return JSON_MEDIA_TYPE


def _q(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def _csv_lines(rows: Iterable[StoredLog]) -> Iterator[str]:
    """The CSV text, one line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values: Iterable[object]) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(RAW_LOG_COLUMNS)
    for row in rows:
        log = RawLog.of(row)
        yield line(_csv_value(getattr(log, column)) for column in RAW_LOG_COLUMNS)


def _csv_value(value: object) -> object:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")  # type: ignore[attr-defined]
    return value
