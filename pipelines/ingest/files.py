"""Facts about a landing file read in one streaming pass: size, SHA-256, encoding, header."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
BOM = "\ufeff"


@dataclass(frozen=True)
class FileFacts:
    path: Path
    size: int
    sha256: str
    encoding: str  # duckdb's name: 'utf-8' or 'latin-1'
    header: tuple[str, ...]
    has_data: bool
    modified_ns: int | None = None  # the modification time when it was read
    # Why the file cannot be read at all (a broken gzip stream); None when it can.
    problem: str | None = None


def is_gzip(path: Path) -> bool:
    """Gzip-compressed by name, as BigQuery's exports are (`*.json.gz`); DuckDB's readers go
    by the same extension."""
    return path.name.lower().endswith(".gz")


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The decompressed content of a gzip stream, which may hold several members (as `cat
    a.gz b.gz` makes); raises zlib.error on a corrupt or truncated stream."""
    inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    started = False
    for chunk in chunks:
        started = True
        while chunk:
            if inflate.eof:  # the member before ended: another one starts here
                inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            yield inflate.decompress(chunk)
            chunk = inflate.unused_data
    if started and not inflate.eof:
        raise zlib.error("the gzip stream ends before its end marker (truncated file)")


def inspect_file(path: Path, file_format: str = "csv") -> FileFacts:
    """Hash the file and decide its encoding without holding it in memory.

    UTF-8 (with or without BOM) is taken when every byte decodes; otherwise the file is
    Latin-1, the encoding spreadsheet tools on Windows still write. The header is read for
    CSV only; a JSON or Parquet file has data when it has any content. A gzip file's hash and
    size are those of its bytes (what the ledger recognises), its encoding and data those of
    its content.
    """
    modified_ns = path.stat().st_mtime_ns
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    size = 0
    head = b""
    problem = None

    def raw_chunks(fh) -> Iterator[bytes]:
        nonlocal size
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
            yield chunk

    with path.open("rb") as fh:
        chunks = raw_chunks(fh)
        content = _gunzip(chunks) if is_gzip(path) else chunks
        try:
            for chunk in content:
                if len(head) < 65536:
                    head += chunk[: 65536 - len(head)]
                # An ASCII chunk is valid UTF-8 and costs a tenth of decoding to recognise;
                # most chunks of most exports are. A sequence the chunk before left open still
                # fails: on the next byte decoded, which cannot continue it, or at the end.
                if utf8 and not chunk.isascii():
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
        except zlib.error as error:
            problem = f"not a readable gzip file ({error})"
            for _ in chunks:  # the ledger still records the hash of the file's bytes
                pass
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    encoding = "utf-8" if utf8 else "latin-1"
    if file_format == "parquet":
        return FileFacts(path, size, digest.hexdigest(), "binary", (), size > 0, modified_ns)
    if file_format != "csv" or problem:
        return FileFacts(path, size, digest.hexdigest(), encoding, (), bool(head.strip()),
                         modified_ns, problem)
    text = head.decode("utf-8" if utf8 else "latin-1", errors="replace")
    text = text.removeprefix(BOM)
    lines = io.StringIO(text)
    reader = csv.reader(lines)
    header = tuple(h.strip() for h in next(reader, []))
    has_data = any(any(cell.strip() for cell in row) for row in reader)
    if not has_data and len(head) == 65536:
        has_data = True  # a first record longer than the sample: let the reader decide
    return FileFacts(path, size, digest.hexdigest(), encoding, header, has_data, modified_ns)
