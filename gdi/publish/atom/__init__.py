"""The INSPIRE pre-defined dataset download service (TG Download Services 3.1, Atom).

    feeds.py   the service feed, one dataset feed per dataset, the OpenSearch description and
               the index the search endpoint answers from; written with the catalogue (the
               same identifiers, records and revision times), German and English
    search.py  the OpenSearch endpoint (Describe / Get Spatial Data Set), a WSGI process
"""
