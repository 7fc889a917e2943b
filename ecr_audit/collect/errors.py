"""Failed reads → (error_code, error_kind) and scrubbed messages for the errors frame.

Expected absences ("not configured") are not errors: `ABSENT_CODES` lists them and the
collector records status `absent`. Everything else that AWS or the network can answer is an
errors row; anything else (a bug) raises.
"""
from __future__ import annotations

import re

from botocore.exceptions import (BotoCoreError, ClientError, ConnectionClosedError, ConnectTimeoutError,
                                 EndpointConnectionError, ReadTimeoutError)

# Answers that mean "not configured" (ecr-facts §1.2 "Absent" column).
ABSENT_CODES = frozenset({
    "RepositoryPolicyNotFoundException",
    "LifecyclePolicyNotFoundException",
    "RegistryPolicyNotFoundException",
    "PullThroughCacheRuleNotFoundException",
    "SigningConfigurationNotFoundException",
    "TemplateNotFoundException",
})

_ACCESS = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess",
           "AuthorizationError", "AWSOrganizationsNotInUseException", "InvalidClientTokenId",
           "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException", "OptInRequired",
           "AuthFailure", "SignatureDoesNotMatch", "403"}
_THROTTLE = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
             "ProvisionedThroughputExceededException", "SlowDown", "RequestThrottled",
             "RequestThrottledException", "PriorRequestNotComplete", "LimitExceededException"}
_UNSUPPORTED = {"UnknownOperationException", "InvalidAction", "UnsupportedOperation",
                "UnsupportedOperationException", "NotImplemented", "501"}
_NOT_FOUND = {"RepositoryNotFoundException", "ImageNotFoundException", "RegistryNotFoundException",
              "ImageNotFound", "NoSuchEntity", "NotFoundException"}
_SERVER = {"InternalFailure", "InternalServerError", "InternalError", "ServerException",
           "ServiceUnavailable", "ServiceUnavailableException", "ServiceException", "500", "502", "503", "504"}

KINDS = ("access_denied", "throttled", "unsupported", "not_found", "disabled_region", "timeout",
         "server_error", "invalid_data", "error")


def classify(exc: BaseException) -> tuple[str, str]:
    """(error_code, error_kind) of an exception the collector records; TypeError for anything else."""
    if isinstance(exc, NotImplementedError):
        # moto in-process raises this for operations it does not implement (moto-notes §3.1).
        return "NotImplementedError", "unsupported"
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "Unknown")
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in _ACCESS or status == 403:
            # moto's IAM enforcement returns XML on ECR's JSON protocol → code "403" (moto-notes §2.3).
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
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__, "error"
    raise TypeError(f"not a recordable AWS failure: {type(exc).__name__}")


RECORDABLE = (ClientError, BotoCoreError, NotImplementedError)


def is_absent(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ABSENT_CODES


_SCRUB = [
    # query-string / header credentials (presigned URLs, signed requests echoed back)
    (re.compile(r"(?i)(x-amz-(?:security-token|credential|signature)|signature|credential|"
                r"aws_?session_?token|aws_?secret_?access_?key|token|authorization)"
                r"(\s*[=:]\s*|\"?\s*:\s*\"?)[^\s&\"',;]+"), r"\1\2[redacted]"),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{12,}\b"), "[redacted-key-id]"),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    # Any long base64-ish run mixing digits and both cases: secret keys are 40 chars, session
    # tokens several hundred. Hex digests and ARN paths (no digit/case mix) are kept.
    (re.compile(r"[A-Za-z0-9/+=]{40,}"), lambda m: "[redacted]" if _secret_like(m.group(0)) else m.group(0)),
]


def _secret_like(run: str) -> bool:
    return (any(c.isdigit() for c in run) and any(c.isupper() for c in run)
            and any(c.islower() for c in run))
MAX_MESSAGE = 1000


def scrub(message) -> str:
    """Error text with anything credential-like removed, truncated to MAX_MESSAGE characters."""
    text = "" if message is None else str(message)
    for pattern, repl in _SCRUB:
        text = pattern.sub(repl, text)
    return text[:MAX_MESSAGE]


def message_of(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return scrub((exc.response.get("Error") or {}).get("Message") or str(exc))
    return scrub(str(exc))
