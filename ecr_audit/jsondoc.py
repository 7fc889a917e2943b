"""JSON documents from untrusted text, with every key the text repeats inside one object.

`json.loads` silently keeps the last of repeated keys, so `{"Statement": [<public Allow>],
"Statement": []}` reads as a policy without statements (issue 12 #7). Neither IAM nor ECR documents
which of the values it uses, so the resource-policy and lifecycle-policy parsers use `loads` and
refuse to evaluate a document that repeats a key, rather than guess the narrowest reading.
"""
from __future__ import annotations

import json


class _Repeated(dict):
    """A JSON object whose text repeats keys (the last value kept, as json.loads does)."""
    repeated: tuple[str, ...] = ()


def _object(pairs):
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen, repeated = set(), []
    for k, _ in pairs:
        if k in seen and k not in repeated:
            repeated.append(k)
        seen.add(k)
    out = _Repeated(d)
    out.repeated = tuple(repeated)
    return out


def _label(path: str, key) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


def loads(text: str) -> tuple[object, tuple[tuple[str, str], ...]]:
    """(document, ((path, key), ...)): each key repeated within one object, with the path of that
    object (`Statement[0].Condition`, "" for the top level), in document order. Raises what
    json.loads raises (ValueError, RecursionError)."""
    any_repeated = []

    def hook(pairs):
        d = _object(pairs)
        if type(d) is _Repeated:
            any_repeated.append(True)
        return d

    doc = json.loads(text, object_pairs_hook=hook)
    found: list[tuple[str, str]] = []
    stack = [("", doc)] if any_repeated else []
    while stack:                      # iterative: documents may be nested deeply
        path, node = stack.pop()
        if isinstance(node, _Repeated):
            found.extend((path, k) for k in node.repeated)
        if isinstance(node, dict):
            stack.extend((_label(path, k), v) for k, v in reversed(node.items())
                         if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((_label(path, i), v) for i, v in reversed(list(enumerate(node)))
                         if isinstance(v, (dict, list)))
    return doc, tuple(found)
