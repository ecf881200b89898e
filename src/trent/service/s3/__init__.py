"""S3's use cases (architecture.md, wave 2): buckets and object reads over an object store.

Today: the audit trail's bucket, read-only (issue 16). Issue 17 (server-side encryption)
grows this package with writes, multipart and SSE-KMS on the same registry and checks.
"""
