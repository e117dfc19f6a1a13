"""Small pure functions that dataset descriptors name (``transforms.<module>:<function>``).

One module per source cadastre. Nothing here reads files or knows about publication.
"""
