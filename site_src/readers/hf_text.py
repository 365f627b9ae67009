"""Reader for the Hugging Face Daily Papers text listing ('hf-text'); see docs/formats.md."""
from __future__ import annotations

import datetime as dt
import re

from site_src.model import DigestMeta, ReadResult

_BULLET_AUTHORS = re.compile(r"^\s*[•*-]?\s*\d+\s+authors?\s*$", re.MULTILINE)


def looks_like(text: str) -> bool:
    """Tell whether a text looks like an HF papers listing (author bullets or the page header)."""
    head = text[:20000]
    return bool(_BULLET_AUTHORS.search(head)) or "Daily Papers" in head or "huggingface.co/papers" in head


def parse(text: str, *, source: str, digest_date: dt.date | None = None, today: dt.date) -> ReadResult:
    """Parse an HF papers text listing into papers and problems (placeholder: full reader follows)."""
    return ReadResult(DigestMeta("hf-text", digest_date, "option" if digest_date else None), ())
