"""placeholder"""
from pathlib import Path


def recover(content_dir: Path) -> None:
    """placeholder"""
