"""Facts about a landing file read in one streaming pass: size, SHA-256, encoding, header, and
whether it can be loaded at all (text, within the size limits); and a UTF-8 copy of a file in
another encoding, for DuckDB's readers."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import charset_normalizer
from charset_normalizer.md import mess_ratio

CHUNK = 1 << 20
BOM = "\ufeff"
# Bytes of a non-UTF-8 file that encoding detection reads: the start, then chunks holding
# bytes beyond ASCII, the only ones that tell encodings apart.
DETECT_BYTES = 1 << 20
# charset-normalizer's own default: a reading messier than this is not plausible text.
PLAUSIBLE = 0.2
UNICODE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
                codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class FileFacts:
    path: Path
    size: int
    sha256: str
    encoding: str  # Python's codec name ('utf-8', 'cp1252', ...), or 'binary' for Parquet
    header: tuple[str, ...]
    has_data: bool
    modified_ns: int | None = None  # the modification time when it was read
    # Why the file cannot be loaded at all (not text, a broken gzip stream, over a size
    # limit), in words that follow "<file>: rejected, "; None when it can.
    problem: str | None = None
    # The UTF-8 copy DuckDB reads when the file is in another encoding (`transcoded`).
    read_path: Path | None = None

    @property
    def readable_path(self) -> Path:
        return self.read_path or self.path


@dataclass(frozen=True)
class Limits:
    """The largest line and file a load accepts (settings MARKETING_MAX_LINE_BYTES and
    MARKETING_MAX_FILE_BYTES)."""

    max_line_bytes: int = 16 << 20
    max_file_bytes: int = 64 << 30


def detect_encoding(sample: bytes) -> str:
    """The encoding of text that is not UTF-8, by charset-normalizer.

    On a few characters the detector cannot rank the single-byte code pages (a lone `zoé`
    reads as cp1250, `10€` as cp1125, `zoé ÿ` as UTF-16): when the Windows-1252 reading, what
    Excel writes on Western Windows, is plausible by the detector's own measure, it is taken.
    Cyrillic, Greek or Central European text read as Windows-1252 is far above that measure,
    so those keep the detector's answer.
    """
    for bom in UNICODE_BOMS:
        if sample.startswith(bom):
            return _bom_codec(bom)
    try:
        western = sample.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    if western is not None and mess_ratio(western, 1.0) <= PLAUSIBLE:
        return "cp1252"
    # UTF-8 is out: the caller found bytes it does not decode (the detector tolerates a few).
    for match in charset_normalizer.from_bytes(sample):
        if codecs.lookup(match.encoding).name != "utf-8":
            return codecs.lookup(match.encoding).name
    # Nothing reads as plausible text: Windows-1252 where it decodes, else Latin-1 (every
    # byte is a character), so the rows reach the quarantine with their reasons.
    return "cp1252" if western is not None else "latin-1"


def _bom_codec(bom: bytes) -> str:
    return {codecs.BOM_UTF32_LE: "utf-32", codecs.BOM_UTF32_BE: "utf-32",
            codecs.BOM_UTF16_LE: "utf-16", codecs.BOM_UTF16_BE: "utf-16"}[bom]


class _LineMeter:
    """Finds the first line longer than `limit` bytes (its line end included), chunk by chunk;
    within a chunk no longer than the limit only the line that crosses chunks can be."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.line = 1  # the number of the line being read
        self.current = 0  # its bytes so far
        self.over: tuple[int, int] | None = None  # (line number, length)

    def _ended(self, length: int) -> None:
        if length > self.limit and self.over is None:
            self.over = (self.line, length)

    def feed(self, chunk: bytes) -> None:
        if self.over is not None:
            return
        if len(chunk) <= self.limit:
            first = chunk.find(b"\n")
            if first < 0:
                self.current += len(chunk)
                return
            self._ended(self.current + first + 1)
            self.line += chunk.count(b"\n")
            self.current = len(chunk) - chunk.rfind(b"\n") - 1
            return
        *ended, rest = chunk.split(b"\n")
        for piece in ended:
            self._ended(self.current + len(piece) + 1)
            self.line += 1
            self.current = 0
        self.current += len(rest)

    def finish(self) -> tuple[int, int] | None:
        if self.current:
            self._ended(self.current)
        return self.over


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


def inspect_file(path: Path, file_format: str = "csv", limits: Limits | None = None) -> FileFacts:
    """Hash the file, decide its encoding and check it can be loaded, without holding it in
    memory.

    UTF-8 (with or without BOM) is taken when every byte decodes; otherwise the encoding is
    detected (`detect_encoding`). A file holding NUL bytes (and no UTF-16/32 byte order mark)
    is not text. The header is read for CSV only; a JSON or Parquet file has data when it has
    any content. A gzip file's hash and size are those of its bytes (what the ledger
    recognises), its encoding, lines and data those of its content. A file over the size
    limit is not read at all.
    """
    limits = limits or Limits()
    stat = path.stat()
    modified_ns = stat.st_mtime_ns
    if stat.st_size > limits.max_file_bytes:
        return FileFacts(path, stat.st_size, "", "", (), False, modified_ns, (
            f"the file is {stat.st_size:,} bytes, over the limit of {limits.max_file_bytes:,} "
            "bytes per file (MARKETING_MAX_FILE_BYTES); split the export or raise the limit"))
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    size = 0
    head = b""
    sample = b""
    problem = None
    text_format = file_format != "parquet"
    lines = _LineMeter(limits.max_line_bytes)

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
                if text_format:
                    lines.feed(chunk)
                # An ASCII chunk is valid UTF-8 and costs a tenth of decoding to recognise;
                # most chunks of most exports are. A sequence the chunk before left open still
                # fails: on the next byte decoded, which cannot continue it, or at the end.
                if not chunk.isascii():
                    if len(sample) < DETECT_BYTES:
                        sample += chunk[: DETECT_BYTES - len(sample)]
                    if utf8:
                        try:
                            decoder.decode(chunk)
                        except UnicodeDecodeError:
                            utf8 = False
        except zlib.error as error:
            problem = f"not a readable gzip file ({error})"
            # Read the rest unparsed: the ledger still records the hash of the file's bytes.
            deque(chunks, maxlen=0)
        if utf8:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8 = False
    if file_format == "parquet":
        return FileFacts(path, size, digest.hexdigest(), "binary", (), size > 0, modified_ns)
    encoding = "utf-8"
    if not problem and not utf8:
        unicode_bom = head.startswith(UNICODE_BOMS)
        nul = head.find(b"\x00")
        if nul >= 0 and not unicode_bom:
            problem = (f"not a text file: byte {nul + 1:,} is a NUL byte, "
                       "which no CSV or JSON export holds; check that this is the export meant")
        else:
            encoding = detect_encoding(head if unicode_bom else head[:4096] + sample)
    if not problem and (over := lines.finish()):
        problem = (f"line {over[0]:,} is {over[1]:,} bytes long, over the limit of "
                   f"{limits.max_line_bytes:,} bytes per line (MARKETING_MAX_LINE_BYTES); "
                   "nothing from this file was loaded")
    facts = FileFacts(path, size, digest.hexdigest(), encoding, (), bool(head.strip()),
                      modified_ns, problem)
    if file_format != "csv" or problem:
        if encoding.startswith("utf-16") or encoding.startswith("utf-32"):
            return replace(facts, has_data=bool(head.decode(encoding, "replace").strip(
                BOM + " \r\n\t")))
        return facts
    text = head.decode(encoding, errors="replace").removeprefix(BOM)
    try:
        reader = csv.reader(io.StringIO(text))
        header = tuple(h.strip() for h in next(reader, []))
        has_data = any(any(cell.strip() for cell in row) for row in reader)
    except csv.Error as error:
        return replace(facts, problem=f"not a CSV file the reader understands ({error})")
    if not has_data and len(head) == 65536:
        has_data = True  # a first record longer than the sample: let the reader decide
    return replace(facts, header=header, has_data=has_data)


def transcoded(facts: FileFacts, folder: Path, suffix: str) -> FileFacts:
    """The file with a UTF-8 copy for DuckDB to read (`read_path`), when it is in another
    encoding: DuckDB's readers decode UTF-8 and Latin-1 only, and Latin-1 is not what Excel
    writes (it loses the euro sign and curly quotes of Windows-1252). A byte the detected
    encoding cannot decode rejects the file, naming the byte."""
    if facts.encoding in ("utf-8", "binary") or facts.problem:
        return facts
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{facts.sha256}{suffix}"
    decoder = codecs.getincrementaldecoder(facts.encoding)()
    offset = 0
    with facts.path.open("rb") as fh, target.open("w", encoding="utf-8", newline="") as out:
        chunks = iter(lambda: fh.read(CHUNK), b"")
        try:
            for chunk in _gunzip(chunks) if is_gzip(facts.path) else chunks:
                out.write(decoder.decode(chunk).removeprefix(BOM) if offset == 0
                          else decoder.decode(chunk))
                offset += len(chunk)
            out.write(decoder.decode(b"", final=True))
        except UnicodeDecodeError as error:
            problem = (f"byte {offset + error.start + 1:,} cannot be read as {facts.encoding}, "
                       "the encoding detected from the file; save the export as UTF-8")
            out.close()
            target.unlink()
            return replace(facts, problem=problem)
    return replace(facts, read_path=target)
