"""Code pages of municipal exports: detection and declared-vs-actual checks."""

from __future__ import annotations

import pytest

from gdi.encoding import check_declared, detect, normalise_name
from gdi.errors import SourceEncodingError

TEXT = "Straße Höhe Grünfläche Ärger Öl Übergang " * 5


@pytest.mark.parametrize("enc", ["utf-8", "cp1252", "cp850"])
def test_detects_the_code_page_of_german_text(enc: str) -> None:
    assert detect(TEXT.encode(enc)) == enc


def test_declared_cp1252_but_bytes_are_utf8() -> None:
    with pytest.raises(SourceEncodingError, match="UTF-8"):
        check_declared(TEXT.encode("utf-8"), "cp1252", where="x.dbf")


def test_declared_utf8_but_bytes_are_cp1252() -> None:
    with pytest.raises(SourceEncodingError, match="not utf-8"):
        check_declared(TEXT.encode("cp1252"), "utf-8", where="x.dbf")


def test_declared_cp1252_but_text_reads_as_cp850() -> None:
    with pytest.raises(SourceEncodingError, match="cp850"):
        check_declared(TEXT.encode("cp850"), "cp1252", where="x.dbf")


def test_right_declaration_passes_and_cpg_names_are_understood() -> None:
    check_declared(TEXT.encode("cp850"), "cp850", where="x.dbf")
    assert normalise_name("ANSI 1252") == "cp1252" and normalise_name("UTF8") == "utf-8"
    with pytest.raises(SourceEncodingError):
        normalise_name("klingon")
