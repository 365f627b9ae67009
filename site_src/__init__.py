"""Paper Atlas: digests in, a curated static literature-survey site out."""

__version__ = "0.1.0"
