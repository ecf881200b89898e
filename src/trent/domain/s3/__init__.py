"""S3's plain data and rules (issue 17): names and ARNs, stored records, SSE facts.

Pure: no I/O. The use cases live in ``trent.service.s3``.
"""
