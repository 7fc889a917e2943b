"""Failed reads → (error_code, error_kind), scrubbed messages, and why a collection cannot start.

Expected absences ("not configured") are not errors: `ABSENT_CODES` lists them and the
collector records status `absent`. Everything else that AWS or the network can answer is an
errors row (`is_recordable`); anything else (a bug) raises. An answer botocore cannot parse (a
field of the wrong shape) and a listing that does not end (`paging.IncompleteListing`) are
`invalid_data`, like items the transforms cannot understand.

Messages are scrubbed before they reach a frame: the credential values the process knows (the
caller's and every assumed role's, registered with `remember_credentials`) in their raw,
URL-encoded and base64 forms, and anything that looks like a key id, signature or token.

`credentials_fix` turns a failure of the caller's own credentials into the one line that says
how to fix it (the CLI exits 2 with it; see `CredentialsError`).
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import quote, quote_plus

from botocore import exceptions as bex
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from ..aws import MalformedAnswer
from .paging import IncompleteListing

# Answers that mean "not configured" (each operation's errors in the ECR API reference:
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_Operations.html).
ABSENT_CODES = frozenset(
    {
        "RepositoryPolicyNotFoundException",
        "LifecyclePolicyNotFoundException",
        "RegistryPolicyNotFoundException",
        "PullThroughCacheRuleNotFoundException",
        "SigningConfigurationNotFoundException",
        "TemplateNotFoundException",
    }
)

_ACCESS = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedAccess",
    "AuthorizationError",
    "AWSOrganizationsNotInUseException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "OptInRequired",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "403",
}
_THROTTLE = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "RequestThrottled",
    "RequestThrottledException",
    "PriorRequestNotComplete",
    "LimitExceededException",
}
_UNSUPPORTED = {
    "UnknownOperationException",
    "InvalidAction",
    "UnsupportedOperation",
    "UnsupportedOperationException",
    "NotImplemented",
    "501",
}
_NOT_FOUND = {
    "RepositoryNotFoundException",
    "ImageNotFoundException",
    "RegistryNotFoundException",
    "ImageNotFound",
    "NoSuchEntity",
    "NotFoundException",
}
_SERVER = {
    "InternalFailure",
    "InternalServerError",
    "InternalError",
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "500",
    "502",
    "503",
    "504",
}

KINDS = (
    "access_denied",
    "throttled",
    "unsupported",
    "not_found",
    "disabled_region",
    "timeout",
    "server_error",
    "invalid_data",
    "error",
)


def classify(exc: BaseException) -> tuple[str, str]:
    """(error_code, error_kind) of an exception the collector records; TypeError for anything else."""
    if isinstance(exc, NotImplementedError):
        # moto in-process raises this for operations it does not implement.
        return "NotImplementedError", "unsupported"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "Unknown")
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in _ACCESS or status == 403:
            # moto's IAM enforcement answers XML on ECR's JSON protocol → code "403".
            return code, "access_denied"
        if code in _THROTTLE or status == 429:
            return code, "throttled"
        if code in _UNSUPPORTED or status == 501:
            return code, "unsupported"
        if code in _NOT_FOUND:
            return code, "not_found"
        if code in _SERVER or (isinstance(status, int) and status >= 500):
            return code, "server_error"
        return code, "error"
    if isinstance(exc, (ConnectTimeoutError, ReadTimeoutError)):
        return type(exc).__name__, "timeout"
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError)):
        return type(exc).__name__, "error"
    if isinstance(exc, MalformedAnswer):
        return "MalformedAnswer", "invalid_data"
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, "error"
    if isinstance(exc, IncompleteListing):
        return exc.code, "invalid_data"
    if is_malformed_answer(exc):
        return "MalformedAnswer", "invalid_data"
    raise TypeError(f"not a recordable AWS failure: {type(exc).__name__}")


RECORDABLE = (ClientError, BotoCoreError, NotImplementedError, IncompleteListing)


def is_malformed_answer(exc: BaseException) -> bool:
    """`exc` was raised while botocore parsed an answer (a member of the wrong shape: text where
    the model has a structure, an unparseable timestamp): the answer's fault, not the collector's."""
    if not isinstance(
        exc, (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError, RecursionError)
    ):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "botocore.parsers":
            return True
        tb = tb.tb_next
    return False


def is_recordable(exc: BaseException) -> bool:
    """An AWS or network failure that becomes an errors row (anything else is a bug)."""
    return isinstance(exc, RECORDABLE) or is_malformed_answer(exc)


def is_absent(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ABSENT_CODES


class KnownSecrets:
    """Credential values this process holds, removed from messages in every form they travel in.

    Forms: the raw value; URL-encoded (`quote` with and without "/" safe, `quote_plus`, with upper
    and lower case escapes); base64 and base64url, also as part of a longer encoded text (the three
    byte alignments, without the edge characters that depend on the neighbours). Values shorter
    than `MIN_LENGTH` are not registered (access key ids are at least 16 characters; shorter
    placeholders such as the sandbox's `testing` would redact ordinary words)."""

    MIN_LENGTH = 16

    def __init__(self):
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern | None = None

    def add(self, *values) -> None:
        new = set()
        for v in values:
            if isinstance(v, str) and len(v) >= self.MIN_LENGTH:
                new |= _forms_of(v)
        with self._lock:
            if new - self._forms:
                self._forms |= new
                self._pattern = None  # compiled again when next needed

    def scrub(self, text: str) -> str:
        with self._lock:
            if self._pattern is None and self._forms:
                alternatives = sorted(self._forms, key=len, reverse=True)  # longest form first
                self._pattern = re.compile("|".join(map(re.escape, alternatives)))
            pattern = self._pattern
        return pattern.sub("[redacted]", text) if pattern is not None else text


def _forms_of(value: str) -> set[str]:
    forms = {value, quote(value), quote(value, safe=""), quote_plus(value), quote_plus(value, safe="/")}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(forms)}
    raw = value.encode("utf-8")
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        # Characters fully inside the value's bits: from ceil(8k/6) to floor(8(k+n)/6).
        core = encoded[-(-8 * k // 6) : (8 * (k + len(raw))) // 6]
        forms |= {core, core.translate(str.maketrans("+/", "-_")), quote(core, safe="")}
    return {f for f in forms if len(f) >= 12}


KNOWN_SECRETS = KnownSecrets()


def remember_credentials(access_key=None, secret_key=None, token=None) -> None:
    """Register credentials the collector holds so that no message can carry them out."""
    KNOWN_SECRETS.add(access_key, secret_key, token)


_SCRUB = [
    # query-string / header credentials (presigned URLs, signed requests echoed back)
    (
        re.compile(
            r"(?i)(x-amz-(?:security-token|credential|signature)|signature|credential|"
            r"aws_?session_?token|aws_?secret_?access_?key|token|authorization)"
            r"(\s*[=:]\s*|\"?\s*:\s*\"?)[^\s&\"',;]+"
        ),
        r"\1\2[redacted]",
    ),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{12,}\b"), "[redacted-key-id]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    # Any long base64-ish run mixing digits and both cases: secret keys are 40 chars, session
    # tokens several hundred. Hex digests and ARN paths (no digit/case mix) are kept.
    (re.compile(r"[A-Za-z0-9/+=]{40,}"), lambda m: "[redacted]" if _secret_like(m.group(0)) else m.group(0)),
]


def _secret_like(run: str) -> bool:
    return any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)


MAX_MESSAGE = 1000


def scrub(message) -> str:
    """Error text with anything credential-like removed, truncated to MAX_MESSAGE characters.

    Text that UTF-8 cannot encode (lone surrogates from a JSON answer) is escaped: it could not be
    stored otherwise."""
    text = "" if message is None else str(message)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = KNOWN_SECRETS.scrub(text)
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    return text[:MAX_MESSAGE]


def message_of(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return scrub((exc.response.get("Error") or {}).get("Message") or str(exc))
    return scrub(str(exc))


# -- the caller's own credentials ------------------------------------------------------------------


class CollectionError(Exception):
    """The collection cannot start; the message says why (the CLI exits 4: nothing collected)."""


class CredentialsError(CollectionError):
    """The caller's credentials are missing, expired or refused; the message says how to fix it
    (the CLI exits 2: bad input)."""


# Codes AWS answers when the signing credentials themselves are the problem.
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "RequestExpired",
        "IncompleteSignature",
        "InvalidAccessKeyId",
        "AuthFailure",
        "MissingAuthenticationToken",
    }
)
_SSO_ERRORS = tuple(
    getattr(bex, n) for n in ("SSOError", "TokenRetrievalError", "LoginError") if hasattr(bex, n)
)
_CONFIG_ERRORS = (
    bex.PartialCredentialsError,
    bex.CredentialRetrievalError,
    bex.InvalidConfigError,
    bex.UnknownCredentialError,
    bex.ConfigParseError,
)


def credentials_fix(exc: BaseException, profile: str | None = None) -> str | None:
    """One line saying what is wrong with the caller's credentials and how to fix it, or None when
    `exc` is not a credentials problem."""
    login = f"aws sso login --profile {profile}" if profile else "aws sso login"
    if isinstance(exc, bex.ProfileNotFound):
        return f"{scrub(exc)}: pass an existing --profile (aws configure list-profiles shows them)"
    if isinstance(exc, bex.NoCredentialsError):
        return (
            "no AWS credentials found: pass --profile (or set AWS_PROFILE), run `aws configure` or "
            f"`{login}`, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, _SSO_ERRORS):
        return f"the SSO session has expired or is invalid ({type(exc).__name__}): run `{login}` and retry"
    if isinstance(exc, _CONFIG_ERRORS):
        return (
            f"the credential configuration could not be used: {scrub(exc)} "
            "(check ~/.aws/config and --profile)"
        )
    if isinstance(exc, bex.NoRegionError):
        return "no AWS region configured: set AWS_REGION or a region in the profile (--profile)"
    if isinstance(exc, ClientError):
        code = str((exc.response.get("Error") or {}).get("Code") or "")
        if code in CREDENTIAL_CODES:
            return (
                f"AWS refused the credentials ({code}): refresh the session (`{login}`, or new temporary "
                "credentials for the profile) and retry"
            )
    return None
