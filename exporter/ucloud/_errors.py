"""The exception tree for everything that can go wrong talking to UCloud.

::

    UCloudError                 base; ``reason`` is the metric label value
    ├── APIError                the gateway answered RetCode != 0 (``code``, ``message``)
    ├── HTTPStatusError         the gateway answered an HTTP status other than 200
    ├── TransportError          no usable answer: connection refused, reset, TLS ...
    │   └── RequestTimeout      connect/read/write/pool timeout
    ├── DecodeError             the body is not JSON or not the documented shape
    │   ├── PagingError         the pages never end (a paging loop)
    │   └── ListingTooLarge     more buckets than ucloud.max_buckets_per_listing
    ├── DeadlineExceeded        the scrape's time budget ran out before an answer
    └── CredentialsError        no key to sign with: the account's temporary key expired (or
                                was never fetched) and its source fails; no request was sent
"""

from __future__ import annotations

# RetCodes that mean "try again later" (150 unavailable, 153 "too fast"), by their documented
# meaning: neither SDK retries them. Server errors, RetCode >= 2000, are transient too
# (``APIError.transient``). There the SDKs differ by one code, 2000 itself:
# - ucloud-sdk-go, ucloud/error/server_error.go: NewServerCodeError sets
#   ``retryable: retCode >= 2000``; ServerError.Retryable() adds HTTP 429, 502, 503, 504, and
#   ucloud/handlers.go retryHandler retries what is Retryable() (for actions marked retryable).
# - ucloud-sdk-python3, ucloud/core/exc/_exc.py: MAX_COMMON_RET_CODE = 2000 and
#   RetCodeException.retryable is ``code > MAX_COMMON_RET_CODE``, HTTPStatusException.retryable
#   HTTP 429, 502, 503, 504 (ucloud/core/client/_client.py invoke() retries what is retryable).
# We follow Go's ``>= 2000``. Python's name reads 2000 as the last common code, Go treats it as
# the first server error; the API's error-code list documents no code 2000, so the rule only
# matters for an answer nobody has described. Retrying a read-only listing once more costs one
# request within the retry budget; not retrying a transient error costs the target's scrape.
THROTTLED_RETCODE = 153
_TRANSIENT_RETCODES = frozenset({150, THROTTLED_RETCODE})
# UGC's own RetCodes (ugc-api/error_code.md: 43000-43038, e.g. 43006 ParaMiss, 43023
# BucketNotExistError) are answers about the request or the bucket, not server trouble: a retry
# gets the same answer. They are above 2000, so the rule above (and the Python SDK's, which
# retries every code > 2000) would retry them; they are carved out here.
UGC_RETCODES = range(43000, 43039)
# Authentication and authorisation: retrying cannot help.
_AUTH_RETCODES = frozenset({*range(170, 175), *range(292, 300)})


class UCloudError(Exception):
    """Base class of every error raised by the UCloud client."""

    reason = "error"
    transient = False
    throttled = False  # the gateway said "too fast": slow this account down

    def __init__(self, message: str, *, action: str = "", request_id: str | None = None) -> None:
        super().__init__(message)
        self.action = action
        # The gateway's X-UCLOUD-REQUEST-UUID of the answer that failed (None: no answer, or
        # none sent): for log lines and UCloud support, never a metric label.
        self.request_id = request_id

    def log_fields(self) -> dict[str, str]:
        """Return the fields of a log line about this error: its reason and, when the gateway
        sent one, its request id."""
        fields = {"reason": self.reason}
        if self.request_id:
            fields["request_id"] = self.request_id
        return fields


class APIError(UCloudError):
    """The gateway answered with a non-zero RetCode."""

    def __init__(
        self, code: int, message: str, *, action: str = "", request_id: str | None = None
    ) -> None:
        super().__init__(f"RetCode {code}: {message}", action=action, request_id=request_id)
        self.code = code
        self.message = message

    @property
    def reason(self) -> str:  # type: ignore[override]
        """Return ``retcode_<n>``."""
        return f"retcode_{self.code}"

    @property
    def transient(self) -> bool:  # type: ignore[override]
        """Return whether a retry may succeed."""
        if self.code in UGC_RETCODES:
            return False
        return self.code in _TRANSIENT_RETCODES or self.code >= 2000

    @property
    def throttled(self) -> bool:  # type: ignore[override]
        """Return whether this is RetCode 153, the gateway's "too many requests"."""
        return self.code == THROTTLED_RETCODE

    @property
    def is_auth(self) -> bool:
        """Return whether this is an authentication or permission failure."""
        return self.code in _AUTH_RETCODES


class HTTPStatusError(UCloudError):
    """The gateway answered with an HTTP status other than 200."""

    def __init__(self, status: int, *, action: str = "", request_id: str | None = None) -> None:
        super().__init__(f"HTTP status {status}", action=action, request_id=request_id)
        self.status = status

    @property
    def reason(self) -> str:  # type: ignore[override]
        """Return ``http_<status>``."""
        return f"http_{self.status}"

    @property
    def transient(self) -> bool:  # type: ignore[override]
        """Return whether a retry may succeed (429 and 5xx)."""
        return self.status == 429 or self.status >= 500

    @property
    def throttled(self) -> bool:  # type: ignore[override]
        """Return whether this is HTTP 429 Too Many Requests."""
        return self.status == 429


class TransportError(UCloudError):
    """The request got no usable answer (connection refused, reset, protocol error)."""

    reason = "transport"
    transient = True


class RequestTimeout(TransportError):
    """The request timed out."""

    reason = "timeout"


class DecodeError(UCloudError):
    """The body was not JSON, or not the documented shape."""

    reason = "decode"


class PagingError(DecodeError):
    """The pages of one listing never end."""

    reason = "paging"


class ListingTooLarge(DecodeError):
    """One listing holds more buckets than the configured cap."""

    reason = "too_many_buckets"


class DeadlineExceeded(UCloudError):
    """The scrape's time budget ran out."""

    reason = "deadline"


class CredentialsError(UCloudError):
    """The account has no usable key: its temporary key expired, or was never fetched, and
    its source (metadata service, AssumeRole) fails. The text names the source and why."""

    reason = "credentials"
