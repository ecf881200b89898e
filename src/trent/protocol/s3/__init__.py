"""S3's REST-XML protocol on Trent's endpoint: the audit trail bucket (issue 16, read-only)
and every other bucket with server-side encryption (issue 17).

``routes`` maps method + path (path-style ``/bucket/key``, or virtual-hosted) + query
subresources (+ the copy-source header) to an operation; ``xml`` / ``xml_in`` write and
read S3's XML documents; ``errors`` is S3's error map (exception type -> Code, HTTP
status); ``body`` checks a streamed body by its payload mode; ``sse_operations`` are
issue 17's handlers; ``front_door`` runs one request end to end.
"""
