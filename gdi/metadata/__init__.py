"""ISO 19115/19119 metadata (ISO 19139 XML) of every dataset and service, derived from the
descriptors, the city profile and the live releases' run reports, and the catalogue that
publishes them (pycsw, :mod:`gdi.publish.csw`).

    iso.py        building blocks of ISO 19139 (lxml), one place for namespaces and code lists
    vocab.py      the fixed vocabularies: INSPIRE themes, regulations, code list URIs
    facts.py      what a live release says about its data (extent, dates, counts, validity)
    dataset.py    the record of a dataset
    service.py    the records of the services (one registry: view, download, discovery)
    rules.py      the INSPIRE / GDI-DE rules every record is checked against
    catalogue.py  build, check, date-stamp and publish the whole catalogue atomically
    html.py       the human-readable view of a record (German first)
"""
