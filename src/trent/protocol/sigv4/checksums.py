"""S3's ``x-amz-checksum-*`` for the verifier: the implementation is
:mod:`trent.crypto.checksums` (the S3 use cases compute the same values below this layer)."""

from trent.crypto.checksums import ALGORITHMS, HEADER_PREFIX, Checksum, algorithm_of_header, checksum_of

__all__ = ["ALGORITHMS", "HEADER_PREFIX", "Checksum", "algorithm_of_header", "checksum_of"]
