"""Character encodings of municipal exports: detect, and check what a descriptor declares.

Old DBF exports are CP1252 (Windows) or CP850 (DOS) without a ``.cpg``; newer ones UTF-8.
Detection: strict UTF-8 first; otherwise the single-byte code page under which the bytes read
as German text (umlauts, ß) rather than as punctuation and box drawing.
"""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

from gdi.errors import SourceEncodingError

_GERMAN = set("äöüÄÖÜßéèáàâêçñ")
_ALIASES = {"1252": "cp1252", "ansi 1252": "cp1252", "windows-1252": "cp1252", "850": "cp850",
            "oem 850": "cp850", "ibm850": "cp850", "65001": "utf-8", "utf8": "utf-8",
            "88591": "latin-1", "iso-8859-1": "latin-1", "iso8859-1": "latin-1"}


def normalise_name(name: str) -> str:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise SourceEncodingError(
            f"unknown encoding '{name}'", hint="use utf-8, cp1252, cp850 or latin-1"
        ) from None


def dbf_record_bytes(dbf: Path, limit: int = 4 << 20) -> bytes:
    """The record area of a DBF file (after its header), up to ``limit`` bytes."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            raise SourceEncodingError(f"{dbf}: not a DBF file (too short)")
        header_len = struct.unpack("<H", head[8:10])[0]
        fh.seek(header_len)
        return fh.read(limit)


def _score(text: str) -> int:
    good = sum(ch in _GERMAN for ch in text)
    odd = sum(
        (0x80 <= ord(ch) < 0xA0) or (0x2500 <= ord(ch) < 0x2600) or ch in "„“”‡†‰ƒ"
        for ch in text
    )
    return good - 3 * odd


def _non_ascii_words(sample: bytes) -> bytes:
    return bytes(b for b in sample if b >= 0x80)[:200000]


def detect(sample: bytes) -> str:
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best, best_score = "cp1252", None
    high = _non_ascii_words(sample)
    for enc in ("cp1252", "cp850"):
        try:
            text = high.decode(enc)
        except UnicodeDecodeError:
            continue
        score = _score(text)
        if best_score is None or score > best_score:
            best, best_score = enc, score
    return best


def check_declared(sample: bytes, encoding: str, *, where: str) -> None:
    """Refuse bytes that are not what the declared encoding says."""
    if not _non_ascii_words(sample):
        return
    hint = "set source.encoding in the descriptor (utf-8, cp1252 or cp850) or remove it to detect"
    high = _non_ascii_words(sample)  # single-byte code pages: scoring these bytes suffices
    try:
        sample.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceEncodingError(
            f"{where}: bytes are not {encoding} (byte 0x{sample[exc.start]:02x} at "
            f"{exc.start}); they read as {detect(sample)}",
            hint=hint,
        ) from None
    if encoding != "utf-8":
        try:
            sample.decode("utf-8")
            raise SourceEncodingError(
                f"{where}: declared {encoding}, but the bytes are UTF-8", hint=hint
            )
        except UnicodeDecodeError:
            pass
        other = "cp850" if encoding == "cp1252" else "cp1252"
        try:
            alt = _score(high.decode(other))
        except UnicodeDecodeError:
            return
        if alt > max(_score(high.decode(encoding)), 0) + 2:
            raise SourceEncodingError(
                f"{where}: declared {encoding}, but the text reads as {other}", hint=hint
            )
