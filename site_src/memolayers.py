"""Memos kept as a base plus a delta, so a small change saves a small file.

The parse and topic memos hold an entry per paper: at 100k papers pickling one whole
takes seconds, though a 50-paper digest changes a few dozen entries. A memo is a dict
whose dict-valued items are *sections* (the parse memo's "papers": an entry per file)
and whose other items are *scalars*. It is saved as a base (the whole memo, stamped
with a random token) and a delta against that base: for each section, the entries
that differ from the base and the keys the base has that the memo no longer has; the
scalars travel whole. Each save rewrites only the delta, until the delta grows past a
share of the memo and a new base is due.

A memo made by `merged` remembers, under LAYERS, its base's token and the keys its
delta touched, so the next `delta_against` needs only that memo and the new one.
Pure functions; the cache module reads and writes the files.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

TOKEN = "layer_token"
"""Scalar of a base naming it; a delta applies only to the base whose token it carries."""
LAYERS = "layers"
"""Item of a merged memo: (its base's token, {section: keys its delta touched})."""
DELTA_SHARE = 0.125
"""A delta touching more than this share of a memo's entries is replaced by a new base."""
SMALL_DELTA = 256
"""Entries a delta may always touch (a small memo is never re-based at every save)."""


_MISSING = object()


def new_base(memo: Mapping[str, Any]) -> dict[str, Any]:
    """memo as a base: stamped with a fresh token, without any layers record."""
    base = {name: value for name, value in memo.items() if name != LAYERS}
    base[TOKEN] = os.urandom(12).hex()
    return base


def merged(base: Any, delta: Any = None) -> dict[str, Any]:
    """The memo a base and its delta stand for, with its LAYERS record.

    A base that is not a memo gives {}; a delta that is not one, or belongs to another
    base, is left out (the base alone is an older memo, which is always safe to use).
    """
    if not isinstance(base, dict) or not isinstance(base.get(TOKEN), str):
        return {}
    token = base[TOKEN]
    if not (isinstance(delta, dict) and delta.get("base") == token
            and isinstance(delta.get("sections"), dict) and isinstance(delta.get("scalars"), dict)):
        return {**{name: value for name, value in base.items() if name != TOKEN}, LAYERS: (token, {})}
    memo = {name: value for name, value in base.items() if name != TOKEN}
    touched: dict[str, frozenset] = {}
    for name, (changed, removed) in delta["sections"].items():
        section = dict(memo.get(name) or {})
        for key in removed:
            section.pop(key, None)
        section.update(changed)
        memo[name] = section
        touched[name] = frozenset(changed) | frozenset(removed)
    memo.update(delta["scalars"])
    memo[LAYERS] = (token, touched)
    return memo


def delta_against(previous: Mapping[str, Any], memo: Mapping[str, Any], *,
                  share: float = DELTA_SHARE, small: int = SMALL_DELTA) -> dict[str, Any] | None:
    """The delta that turns previous's base into memo; None when a new base is due.

    previous must be what `merged` made of the files on disk (it carries LAYERS). A
    new base is due when previous has no base, a section appears or disappears, or
    the delta would touch more than `share` of the memo's entries (and more than `small`).
    """
    layers = previous.get(LAYERS)
    if not (isinstance(layers, tuple) and len(layers) == 2):
        return None
    token, touched = layers
    sections: dict[str, tuple[dict, frozenset]] = {}
    scalars: dict[str, Any] = {}
    size = entries = 0
    for name, value in memo.items():
        if name in (LAYERS, TOKEN):
            continue
        if not isinstance(value, dict):
            scalars[name] = value
            continue
        old = previous.get(name)
        if not isinstance(old, dict):
            return None
        # Unchanged entries are the very objects the previous memo holds: comparing
        # them costs a lookup and an identity check per entry.
        get = old.get
        changed = {key for key, entry in value.items()
                   if get(key, _MISSING) is not entry and (key not in old or old[key] != entry)}
        # Every key of value not found in old is in changed: when old has no more entries
        # than value shares with it, no key was removed (no pass over old's keys).
        added = sum(1 for key in changed if key not in old)
        keys = set(touched.get(name, ()))
        keys.update(changed)
        if len(old) != len(value) - added:
            keys.update(old.keys() - value.keys())
        sections[name] = ({key: value[key] for key in keys if key in value},
                          frozenset(key for key in keys if key not in value))
        size += len(keys)
        entries += len(value)
    if any(isinstance(value, dict) and name not in sections
           for name, value in previous.items() if name != LAYERS):
        return None
    if size > max(small, share * entries):
        return None
    return {"base": token, "sections": sections, "scalars": scalars}
