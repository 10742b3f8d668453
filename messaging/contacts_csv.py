"""CSV for contacts: the export's writer (and the import's reader). Spreadsheet programs run
a cell that starts with = + - @ as a formula, so exported text cells that do are prefixed with
a quote (OWASP "CSV injection"); a phone number's leading + is kept, it is not text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str, *, column: int) -> str:
    if column > 0 and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def csv_lines(rows: Iterable[tuple[str, ...]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([_safe(str(cell), column=i) for i, cell in enumerate(row)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
