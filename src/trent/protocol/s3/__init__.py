"""S3's REST-XML protocol on Trent's endpoint (issue 16; the start of the general S3 slice
issue 17 builds server-side encryption on).

``routes`` maps method + path (path-style: ``/bucket/key``) + query subresources to an
operation and its handler; ``xml`` writes S3's XML documents; ``errors`` is S3's error map
(exception type -> Code, HTTP status); ``front_door`` runs one request end to end.
"""
