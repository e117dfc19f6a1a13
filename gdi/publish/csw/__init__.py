"""The Discovery Service: pycsw 2.6.2 (CSW 2.0.2, ISO application profile) in its own virtual
environment and process.

pycsw pins SQLAlchemy < 2 and OWSLib < 0.29, pygeoapi needs SQLAlchemy 2: the two never share
an interpreter. :mod:`gdi.publish.csw.backend` (the WSGI application) and
:mod:`gdi.publish.csw.loader` (fills the SQLite repository) run in ``.venv-pycsw`` and import
nothing but the standard library, lxml and pycsw; :mod:`gdi.publish.csw.config` runs in the
service's environment and writes pycsw's configuration. This ``__init__`` imports nothing.
"""
