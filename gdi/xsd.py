"""Offline validation against the official XML schemas in ``shared/inspire-schemas``.

An lxml resolver maps the schemas' absolute URLs to the local copies (keeping the original URL
as base, so relative includes resolve once) and refuses every other URL; the parser never
touches the network. libxml2 only *warns* when an import cannot be loaded and then compiles a
schema that accepts anything: such warnings are errors here.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import IO

from lxml import etree

from gdi.errors import SchemaLoadError, SchemaValidationError

XS = "http://www.w3.org/2001/XMLSchema"
_PREFIXES = {
    "https://inspire.ec.europa.eu/schemas/": "inspire.ec.europa.eu/schemas/",
    "http://inspire.ec.europa.eu/schemas/": "inspire.ec.europa.eu/schemas/",
    "http://schemas.opengis.net/": "schemas.opengis.net/",
    "https://schemas.opengis.net/": "schemas.opengis.net/",
    "http://standards.iso.org/ittf/PubliclyAvailableStandards/ISO_19139_Schemas/":
        "schemas.opengis.net/iso/19139/20070417/",
    "http://www.w3.org/": "www.w3.org/",
    "http://docs.oasis-open.org/": "docs.oasis-open.org/",
    "http://portele.de/": "portele.de/",
}


class _OfflineResolver(etree.Resolver):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.refused: list[str] = []

    def resolve(self, url: str, pubid: str | None, context: object) -> object:
        for prefix, folder in _PREFIXES.items():
            if url.startswith(prefix):
                local = self.root / folder / url[len(prefix):]
                if local.is_file():
                    return self.resolve_string(local.read_bytes(), context, base_url=url)
        self.refused.append(url)
        return self.resolve_string(b"", context, base_url=url)


def local_path(root: Path, url: str) -> Path:
    for prefix, folder in _PREFIXES.items():
        if url.startswith(prefix):
            return root / folder / url[len(prefix):]
    raise SchemaLoadError(f"no local copy for {url}")


@functools.lru_cache(maxsize=16)
def _compile(root: Path, imports: tuple[tuple[str, str], ...]) -> etree.XMLSchema:
    if not root.is_dir():
        raise SchemaLoadError(
            f"schema folder {root} not found", hint="set GDI_SHARED_DIR to the shared/ folder"
        )
    wrapper = etree.Element(f"{{{XS}}}schema", nsmap={"xs": XS})
    for ns, loc in imports:
        etree.SubElement(wrapper, f"{{{XS}}}import", namespace=ns, schemaLocation=loc)
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    resolver = _OfflineResolver(root)
    parser.resolvers.add(resolver)
    doc = etree.fromstring(etree.tostring(wrapper), parser, base_url="urn:gdi:wrapper.xsd")
    try:
        schema = etree.XMLSchema(doc)
    except etree.XMLSchemaParseError as exc:
        raise SchemaLoadError(f"official schemas do not compile: {exc}") from None
    log = [e for e in schema.error_log if "Skipping the import" in e.message
           or "Failed to locate" in e.message]
    if resolver.refused or log:
        missing = resolver.refused or [e.message for e in log]
        raise SchemaLoadError(
            "schema imports could not be resolved offline: " + "; ".join(missing[:5]),
            hint="the shared/inspire-schemas copy is incomplete",
        )
    return schema


def schema_for(root: Path, imports: Iterable[tuple[str, str]]) -> etree.XMLSchema:
    """Compile (once per process) a schema importing each (namespace, schemaLocation)."""
    return _compile(root, tuple(sorted(set(imports))))


MEMBER = "{http://www.opengis.net/wfs/2.0}member"


def validate_file(path: Path | IO[bytes], schema: etree.XMLSchema, *, max_errors: int = 20,
                  member: str = MEMBER) -> int:
    """Validate a (possibly very large) document while streaming; return the number of
    ``member`` elements. libxml2 validates every element; only members reach Python, and each
    is dropped once read, so memory stays flat."""
    parser_kwargs = {"no_network": True, "resolve_entities": False, "huge_tree": True}
    count = 0
    source = str(path) if isinstance(path, Path) else path
    name = path.name if isinstance(path, Path) else "document"
    try:
        for _, elem in etree.iterparse(source, events=("end",), tag=member, schema=schema,
                                       **parser_kwargs):
            count += 1
            elem.clear(keep_tail=False)
            parent = elem.getparent()
            if parent is not None:
                while elem.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        errors = [f"line {e.line}: {e.message}" for e in list(exc.error_log)[:max_errors]]
        raise SchemaValidationError(
            f"{name} is not valid against the official schema:\n  "
            + "\n  ".join(errors or [str(exc)])
        ) from None
    return count


def validate_tree(doc: etree._Element, schema: etree.XMLSchema, *, name: str) -> None:
    if not schema.validate(doc):
        errors = [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:20]]
        raise SchemaValidationError(f"{name} is not valid:\n  " + "\n  ".join(errors))


class _Follow:
    """A file being written by another process, read as it grows. The writer sends the final
    size on stdin (or closes stdin without it to abort)."""

    def __init__(self, path: Path, control: IO[str]) -> None:
        self.fh = path.open("rb")
        self.total: int | None = None
        self.aborted = False

        def listen() -> None:
            line = control.readline().strip()
            if line.isdigit():
                self.total = int(line)
            else:
                self.aborted = True

        threading.Thread(target=listen, daemon=True).start()

    def read(self, n: int = -1) -> bytes:
        while True:
            data = self.fh.read(n if n > 0 else 1 << 20)
            if data:
                return data
            if self.aborted:
                raise SchemaValidationError("writer aborted")
            if self.total is not None and self.fh.tell() >= self.total:
                return b""
            time.sleep(0.002)


class StreamValidator:
    """Validate a document while it is written to ``path``: a second process (a second core)
    follows the file as it grows. :meth:`finish_input` tells it the final size; the caller may
    do other work while it catches up; :meth:`verdict` waits and raises if invalid."""

    def __init__(self, root: Path, imports: Iterable[tuple[str, str]], path: Path, *,
                 member: str = MEMBER) -> None:
        path.touch()
        args = [sys.executable, "-m", "gdi.xsd", str(root), str(path), member]
        for ns, loc in sorted(set(imports)):
            args += [ns, loc]
        self.path = path
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def finish_input(self) -> None:
        if self.proc.stdin is not None:
            with suppress(BrokenPipeError):
                self.proc.stdin.write(f"{self.path.stat().st_size}\n")
                self.proc.stdin.close()
            self.proc.stdin = None

    def verdict(self) -> int:
        """Wait for the validator; the number of members it read (raises if invalid)."""
        self.finish_input()
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            message = out.strip() or err[-2000:]
            if self.proc.returncode == 3:
                raise SchemaLoadError(message)
            raise SchemaValidationError(f"{self.path.name}: {message}")
        return int(out.strip() or 0)

    def abort(self) -> None:
        if self.proc.stdin is not None:
            with suppress(BrokenPipeError):
                self.proc.stdin.close()
            self.proc.stdin = None
        self.proc.kill()
        self.proc.wait()


def _main(argv: list[str]) -> int:
    root, path, member, pairs = Path(argv[0]), Path(argv[1]), argv[2], argv[3:]
    try:
        schema = schema_for(root, list(zip(pairs[::2], pairs[1::2], strict=True)))
    except SchemaLoadError as exc:
        print(exc)
        return 3
    try:
        count = validate_file(_Follow(path, sys.stdin), schema,  # type: ignore[arg-type]
                              member=member)
    except SchemaValidationError as exc:
        print(exc)
        return 1
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
