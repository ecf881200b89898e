"""AWS's policy layout (spec §7.1): Jackson's default pretty printer, checked against the
default key policy AWS returns byte for byte and against JSON round trips."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from trent.domain.policies import aws_policy_layout, default_key_policy


def test_the_layout_reproduces_the_default_key_policy_byte_for_byte():
    text = default_key_policy("111122223333")
    assert aws_policy_layout(json.loads(text)) == text


def test_arrays_stay_on_one_line_and_empty_containers_have_a_space():
    assert aws_policy_layout({"Action": ["kms:Encrypt", "kms:Decrypt"], "A": [], "C": {}}) == (
        '{\n  "Action" : [ "kms:Encrypt", "kms:Decrypt" ],\n  "A" : [ ],\n  "C" : { }\n}'
    )


def test_strings_are_escaped_as_jackson_escapes_them():
    assert aws_policy_layout("a\"\\\n\t\x01é") == '"a\\"\\\\\\n\\t\\u0001é"'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_the_layout_is_json_of_the_same_document(document):
    assert json.loads(aws_policy_layout(document)) == document


def test_aws_ebs_managed_key_is_used_through_ec2():
    """EBS encrypts volumes through EC2: aws/ebs's kms:ViaService is ec2.<region>."""
    from trent.domain import aws_managed

    assert aws_managed.via_service("ebs", "eu-west-1") == "ec2.eu-west-1.amazonaws.com"
    assert aws_managed.via_service("s3", "eu-west-1") == "s3.eu-west-1.amazonaws.com"
    assert '"kms:ViaService" : "ec2.eu-west-1.amazonaws.com"' in aws_managed.managed_key_policy(
        "111122223333", "aws", "eu-west-1", "ebs")
