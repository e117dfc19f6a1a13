"""One error root for the project.

Every error the project raises on purpose derives from :class:`GdiError` and also from the
builtin it resembles, so callers that only know Python's builtins still catch it. Errors are
turned into messages for people only in the CLI (:mod:`gdi.cli`) and into OGC exception
reports only in the web front (:mod:`gdi.publish.app`).
"""

from __future__ import annotations


class GdiError(Exception):
    """Root of all errors raised by gdi-hildesheim.

    ``hint`` says what the user can do about it; the CLI prints it below the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class DescriptorError(GdiError, ValueError):
    """A dataset descriptor or the configuration is invalid (names file, key and problem)."""


class SourceError(GdiError, OSError):
    """A source file is missing, unreadable, empty or not what its descriptor says."""


class SourceEncodingError(SourceError, UnicodeError):
    """The bytes of a source file do not decode with the declared or detected encoding."""


class CrsError(GdiError, ValueError):
    """A CRS is unknown, or a required transformation grid is not available."""


class SchemaValidationError(GdiError, ValueError):
    """An encoded document does not validate against its official schema."""


class SchemaLoadError(GdiError, OSError):
    """An official schema could not be loaded completely (offline resolution failed)."""


class PublicationError(GdiError, RuntimeError):
    """Publishing a run failed; the last good publication stays in place."""


class PublicationRefused(PublicationError):
    """The publication guard refused an implausible run (gdi/guard.py); nothing changed."""


class ServiceError(GdiError, RuntimeError):
    """A service (nginx, pygeoapi, ...) could not be started or stopped."""
