"""Exceptions of the client-side envelope library.

::

    EnvelopeError                      base of everything raised on purpose here
    ├── ConfigurationError (ValueError) bad arguments, unsupported suite/policy combinations
    ├── DecryptionFailed               THE opaque rejection: tampered, truncated, malformed,
    │                                  wrong key, bad signature, bad commitment. No detail, ever.
    ├── ContextMismatch                 caller-supplied encryption context disagrees with the
    │                                  message's (the context is not secret: it is cleartext)
    ├── KeyringError                    a keyring could not produce or decrypt a data key for an
    │                                  environmental reason (KMS unreachable, access denied, ...)
    └── MaterialsError                  the materials manager could not satisfy a request

Habit 5 (crypto rejections are opaque): :class:`DecryptionFailed` has a fixed message and
is raised ``from None`` so no parse position, tag or key detail leaks through ``__context__``.
"""

from __future__ import annotations


class EnvelopeError(Exception):
    """Base class for envelope-library errors."""


class ConfigurationError(EnvelopeError, ValueError):
    """The library was called with arguments it cannot honour."""


class DecryptionFailed(EnvelopeError):
    """The message could not be decrypted. Deliberately carries no reason."""

    def __init__(self) -> None:
        super().__init__("message could not be decrypted")


class ContextMismatch(EnvelopeError):
    """An encryption context value given by the caller differs from the message's."""


class KeyringError(EnvelopeError):
    """A keyring failed for an environmental reason (the reason names no secret)."""


class MaterialsError(EnvelopeError):
    """Encryption or decryption materials could not be obtained."""
