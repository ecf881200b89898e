"""The CloudTrail API on Trent's endpoint (issue 16): AWS JSON 1.1, target prefix
``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.``, SigV4 service ``cloudtrail``.

``operations`` is the table (LookupEvents, DescribeTrails, GetTrail, GetTrailStatus,
ListPublicKeys), ``errors`` the wire map, ``front_door`` one request end to end.
"""
