"""The audit trail's bucket, read over the S3 wire (issue 16): registry, authorization, reads.

A trail bucket is read-only and shared by account (each account sees its own
``AWSLogs/<account>/``, as a CloudTrail bucket policy grants). Server-side encryption's
read-write buckets are ``trent.service.s3`` (issue 17); when S3's HTTP front lands the trail
bucket becomes an ordinary read-only bucket there and this package folds into it.
"""
