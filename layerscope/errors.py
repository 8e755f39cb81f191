"""The one exception tree of layerscope.

The library raises; only the CLI prints and exits. Every error carries a one-line message, an optional
hint for the user, and the process exit code the CLI uses for it (DESIGN.md, "Command line")::

    LayerscopeError                      exit 1
    ├── UsageError                       exit 2   bad option values, unreadable input files
    │   └── InvalidReference             exit 2
    ├── RegistryError                    exit 1
    │   ├── AuthenticationError          exit 3
    │   ├── NotFoundError                exit 4
    │   ├── RateLimitedError             exit 5
    │   └── RegistryUnavailableError     exit 5   unknown host, refused, timeouts, 5xx after retries
    ├── ContentError                     exit 1   the bytes are not what they claim to be
    │   ├── DigestMismatchError
    │   ├── SizeMismatchError
    │   ├── UnsupportedMediaTypeError
    │   ├── UnsupportedDigestError        content addressed by an algorithm layerscope cannot verify
    │   ├── InvalidManifestError          malformed manifest, index or config JSON
    │   └── CorruptLayerError             bad gzip/zstd/tar, limits exceeded
    ├── StoreError                       exit 1
    ├── CatalogError                     exit 1
    └── ProfileError                     exit 2   an unusable node profile or baked-set file

A RegistryError also keeps what the registry said, as go-containerregistry's `transport.Error` does:
`status` is the HTTP status of the answer (None when there was no answer: refused, timed out, a bad
TLS handshake) and `codes` the error codes of its body (`{"errors":[{"code": "MANIFEST_UNKNOWN", …}]}`,
distribution spec "Error Codes"), in order, empty when the body had none. Callers branch on these rather
than on message text; the CLI shows only the message and hint. Across a process boundary only the type,
message and hint travel (`executor.measure_task`).
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "CatalogError",
    "ContentError",
    "CorruptLayerError",
    "DigestMismatchError",
    "InvalidManifestError",
    "InvalidReference",
    "LayerscopeError",
    "NotFoundError",
    "ProfileError",
    "RateLimitedError",
    "RegistryError",
    "RegistryUnavailableError",
    "SizeMismatchError",
    "StoreError",
    "UnsupportedDigestError",
    "UnsupportedMediaTypeError",
    "UsageError",
]


class LayerscopeError(Exception):
    """Base of every error layerscope raises on purpose."""

    exit_code: int = 1
    default_hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class UsageError(LayerscopeError):
    """The user asked for something malformed (an option value, an input file)."""

    exit_code = 2


class InvalidReference(UsageError):
    """An image reference that cannot be parsed."""

    default_hint = "use REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST], or oci:PATH[:TAG] for a layout directory"


class RegistryError(LayerscopeError):
    """A registry answered with an error, or could not be reached."""

    def __init__(
        self, message: str, *, hint: str | None = None, status: int | None = None, codes: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.codes = codes


class AuthenticationError(RegistryError):
    """The registry refused our credentials, or wants some we do not have."""

    exit_code = 3
    default_hint = "log in with 'docker login HOST' (or set REGISTRY_AUTH_FILE); for ECR install layerscope[ecr]"


class NotFoundError(RegistryError):
    """The repository, tag, manifest or blob does not exist."""

    exit_code = 4
    default_hint = "check the repository and tag spelling, and that your credentials can see it"


class RateLimitedError(RegistryError):
    """The registry kept answering 429 after the retries we allow."""

    exit_code = 5
    default_hint = "wait and retry with fewer requests at once (--concurrency 1), or log in for a higher limit"


class RegistryUnavailableError(RegistryError):
    """The registry could not be reached or kept failing (DNS, refused, timeouts, 5xx)."""

    exit_code = 5
    default_hint = "check the host name, port and network, or reach the registry through --mirror HOST=ENDPOINT"


class ContentError(LayerscopeError):
    """Content that is not what it claims to be."""


class DigestMismatchError(ContentError):
    """Bytes whose digest differs from the one they were addressed by."""

    default_hint = "the registry or a proxy served wrong content; nothing was stored, retry or report it"


class SizeMismatchError(ContentError):
    """Bytes whose length differs from the descriptor's size."""

    default_hint = "the registry or a proxy served truncated or padded content; nothing was stored"


class UnsupportedMediaTypeError(ContentError):
    """A media type layerscope does not understand (schema1, non-image artifacts, unknown layers)."""


class UnsupportedDigestError(ContentError):
    """Content that would have to be read but is addressed by a digest algorithm layerscope cannot verify.

    Such a digest is valid (image-spec descriptor.md allows unregistered algorithms), so a document that
    only mentions it parses; only fetching it is refused, since its bytes could not be checked.
    """

    default_hint = "layerscope verifies sha256 and sha512 digests; re-push the image with a sha256-addressed client"


class InvalidManifestError(ContentError):
    """A manifest, index or config that is not valid JSON of the expected shape."""


class CorruptLayerError(ContentError):
    """A layer blob that does not decompress or is not a valid tar stream, or breaks a safety limit."""


class StoreError(LayerscopeError):
    """The measurement store cannot be used."""

    default_hint = "set LAYERSCOPE_STORE to a writable directory, or pass --no-store"


class CatalogError(LayerscopeError):
    """The Windows base catalog cannot be loaded or refreshed."""


class ProfileError(LayerscopeError):
    """A node profile or baked-set file that cannot be used."""

    exit_code = 2
