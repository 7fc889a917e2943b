"""Every paged listing of the collector goes through `pages`: it ends, whatever the endpoint says.

A listing ends when an answer carries no token. An endpoint that sends a token it sent before
(A→A, or a cycle A→B→A, which botocore's paginators do not catch: they compare a token only with
the previous one) or that never stops (more than `max_pages` pages) would be followed forever; `pages`
stops there and raises `IncompleteListing`, an `invalid_data` failure that carries the items read
so far. Those items are real answers, so the reader keeps them, but the read is `unreadable`: the
listing is known to be incomplete. A failure on a later page (a throttle that outlasts the
retries, a denial) keeps the earlier pages' items the same way (`partial_items` on the error).

IAM listings say whether more follows in `IsTruncated`, with the next `Marker`: `truncated=` names
that flag, and a page that says "more" without a token is an incomplete listing too.
"""

from __future__ import annotations

# Far beyond any real listing: ECR allows 100,000 images per repository (100 pages of 1,000) and
# Organizations answers ListAccounts 20 at a time.
MAX_PAGES = 10_000


class IncompleteListing(Exception):
    """A listing stopped before its end; `partial_items` holds what was read."""

    def __init__(self, operation: str | None, code: str, reason: str, items):
        super().__init__(f"{operation or 'a listing'}: {reason}; kept the {len(items)} items read before")
        self.operation = operation
        self.code = code
        self.partial_items = items


def operation_name(call) -> str | None:
    """ "DescribeImages" for a bound client method `ecr.describe_images`, None for other callables."""
    client = getattr(call, "__self__", None)
    mapping = getattr(getattr(client, "meta", None), "method_to_api_mapping", None) or {}
    return mapping.get(getattr(call, "__name__", ""))


def pages(
    call,
    items_key: str,
    *,
    token: str = "nextToken",
    answer_token: str | None = None,
    truncated: str | None = None,
    max_pages: int = MAX_PAGES,
    max_items: int | None = None,
    **params,
) -> list:
    """Every item under `items_key` of a listing: call(**params), then again with `token` set to
    the answer's `answer_token` (default: the same name) until an answer has none — or, with
    `truncated` (IAM's `IsTruncated`), until that flag is false — or, with
    `max_items`, until that many items are read (the first `max_items`: "the newest N" of a
    listing sorted newest first).

    Raises IncompleteListing on a token seen before (a cycle) or after `max_pages` pages; any other
    exception raised on a later page gets the items read so far as `partial_items`."""
    items, sent, next_token = [], set(), None
    answer_token = answer_token or token
    for n in range(1, max_pages + 1):
        try:
            page = call(**params, **({token: next_token} if next_token is not None else {}))
        except Exception as e:
            if items:
                e.partial_items = items
            raise
        got = page.get(items_key)
        if isinstance(got, list):
            items.extend(got)
        elif got is not None:
            raise IncompleteListing(
                operation_name(call), "MalformedPage", f"page {n} holds {items_key} that is not a list", items
            )
        if max_items is not None and len(items) >= max_items:
            return items[:max_items]
        next_token = page.get(answer_token)
        if truncated is not None and page.get(truncated) is not None:
            more = page.get(truncated)
            if not isinstance(more, bool):
                raise IncompleteListing(
                    operation_name(call),
                    "MalformedPage",
                    f"page {n} has a {truncated} that is not a flag",
                    items,
                )
            if not more:
                return items
            if next_token is None or next_token == "":
                raise IncompleteListing(
                    operation_name(call),
                    "MalformedPage",
                    f"page {n} says {truncated} without a {answer_token}",
                    items,
                )
        if next_token is None or next_token == "":
            return items
        if not isinstance(next_token, str):
            raise IncompleteListing(
                operation_name(call),
                "MalformedPage",
                f"page {n} has a {answer_token} that is not text",
                items,
            )
        if next_token in sent:
            raise IncompleteListing(
                operation_name(call),
                "RepeatedPageToken",
                f"page token repeated after {n} pages (the listing went round a cycle)",
                items,
            )
        sent.add(next_token)
    raise IncompleteListing(operation_name(call), "PageLimit", f"more than {max_pages} pages", items)
