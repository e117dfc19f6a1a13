"""gdi-hildesheim: geodata and INSPIRE publication service of the City of Hildesheim."""

__version__ = "0.1.0"
