"""JSON documents from untrusted text, with every key the text repeats inside one object.

`json.loads` silently keeps the last of repeated keys, so `{"Statement": [<public Allow>],
"Statement": []}` reads as a policy without statements (issue 12 #7). Neither IAM nor ECR documents
which of the values it uses, so the resource-policy and lifecycle-policy parsers use `loads` and
refuse to evaluate a document that repeats a key with different values, rather than guess the
narrowest reading. A key repeated with the same value each time reads the same either way.
"""

from __future__ import annotations

import json
from typing import NamedTuple


class Repeat(NamedTuple):
    path: str  # the object holding the key: `Statement[0].Condition`, "" for the top level
    key: str
    same: bool  # every occurrence has the same value: the document reads the same either way


class _Repeated(dict):
    """A JSON object whose text repeats keys (the last value kept, as json.loads does)."""

    repeated: tuple[tuple[str, bool], ...] = ()


def _object(pairs):
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    values: dict = {}
    for k, v in pairs:
        values.setdefault(k, []).append(v)
    out = _Repeated(d)
    out.repeated = tuple((k, all(v == vs[0] for v in vs)) for k, vs in values.items() if len(vs) > 1)
    return out


def _label(path: str, key) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


def loads(text: str) -> tuple[object, tuple[Repeat, ...]]:
    """(document, repeats): each key repeated within one object of the document, in document
    order. Raises what json.loads raises (ValueError, RecursionError)."""
    any_repeated = []

    def hook(pairs):
        d = _object(pairs)
        if type(d) is _Repeated:
            any_repeated.append(True)
        return d

    doc = json.loads(text, object_pairs_hook=hook)
    found: list[Repeat] = []
    stack = [("", doc)] if any_repeated else []
    while stack:  # iterative: documents may be nested deeply
        path, node = stack.pop()
        if isinstance(node, _Repeated):
            found.extend(Repeat(path, k, same) for k, same in node.repeated)
        if isinstance(node, dict):
            stack.extend(
                (_label(path, k), v) for k, v in reversed(node.items()) if isinstance(v, (dict, list))
            )
        elif isinstance(node, list):
            stack.extend(
                (_label(path, i), v)
                for i, v in reversed(list(enumerate(node)))
                if isinstance(v, (dict, list))
            )
    return doc, tuple(found)
