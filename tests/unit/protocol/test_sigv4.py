"""SigV4 verification, step by step (habits §2, spec §1.5-1.6).

The known-answer tests run each step separately against botocore-generated vectors
(tests/vectors/sigv4/README.md), so a failure names the step that broke.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trent import errors
from trent.protocol import sigv4
from trent.protocol.sigv4.authorization import _parse_botocore_shape, _parse_general, _parse_shape
from trent.protocol.sigv4.signing_keys import _PreparedKey

VECTOR_DIR = Path(__file__).resolve().parents[2] / "vectors" / "sigv4"
VECTORS = sorted(VECTOR_DIR.glob("*.json"))
assert VECTORS, "no SigV4 vectors found"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def asgi(headers: list[list[str]]) -> list[tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]


def epoch(amz: str) -> int:
    return calendar.timegm(
        (int(amz[0:4]), int(amz[4:6]), int(amz[6:8]), int(amz[9:11]), int(amz[11:13]), int(amz[13:15]), 0, 0, 0)
    )


vector_ids = [p.stem for p in VECTORS]


@pytest.fixture(params=VECTORS, ids=vector_ids)
def vec(request: pytest.FixtureRequest) -> dict:
    return load(request.param)


# --- known answers, one step per test ----------------------------------------------------


def test_step1_parse_authorization(vec: dict) -> None:
    auth = sigv4.parse_authorization(vec["expected"]["authorization"])
    assert auth.access_key_id == vec["access_key_id"]
    assert auth.scope == vec["expected"]["scope"]
    assert auth.signature == vec["expected"]["signature"]
    assert ";".join(auth.signed_headers) in vec["expected"]["canonical_request"]


def test_step2_parse_request_auth(vec: dict) -> None:
    parsed = sigv4.parse_request_auth(asgi(vec["headers"]))
    assert parsed.amz_date == vec["expected"]["amz_date"]
    assert parsed.request_time == epoch(vec["expected"]["amz_date"])
    assert parsed.security_token == vec["session_token"]


def test_step4_canonical_request(vec: dict) -> None:
    auth = sigv4.parse_authorization(vec["expected"]["authorization"])
    got = sigv4.canonical_request(
        vec["method"],
        vec["path"],
        vec["query"],
        asgi(vec["headers"]),
        auth.signed_headers,
        hashlib.sha256(vec["body"].encode()).hexdigest(),
    )
    assert got == vec["expected"]["canonical_request"]


def test_step4_canonical_request_from_mapping(vec: dict) -> None:
    mapping: dict[str, list[str]] = {}
    for name, value in vec["headers"]:
        mapping.setdefault(name, []).append(value)
    auth = sigv4.parse_authorization(vec["expected"]["authorization"])
    got = sigv4.canonical_request(
        vec["method"], vec["path"], vec["query"], mapping, auth.signed_headers,
        hashlib.sha256(vec["body"].encode()).hexdigest(),
    )
    assert got == vec["expected"]["canonical_request"]


def test_step5_string_to_sign(vec: dict) -> None:
    e = vec["expected"]
    assert sigv4.string_to_sign(e["amz_date"], e["scope"], e["canonical_request"]) == e["string_to_sign"]


def test_step6_signing_key(vec: dict) -> None:
    key = sigv4.signing_key(vec["secret_access_key"], vec["expected"]["amz_date"][:8], vec["region"], vec["service"])
    assert key.hex() == vec["expected"]["signing_key_hex"]


def test_step6_signature(vec: dict) -> None:
    key = bytes.fromhex(vec["expected"]["signing_key_hex"])
    assert sigv4.signature(key, vec["expected"]["string_to_sign"]) == vec["expected"]["signature"]


def _verify(vec: dict, *, headers=None, body=None, now=None, secret=None, method=None) -> sigv4.ParsedAuth:
    hdrs = asgi(vec["headers"]) if headers is None else headers
    parsed = sigv4.parse_request_auth(hdrs)
    sigv4.check_scope_and_time(
        parsed, vec["now"] if now is None else now, {vec["region"]}, service=vec["service"]
    )
    sigv4.verify_signature(
        parsed,
        vec["secret_access_key"] if secret is None else secret,
        method or vec["method"],
        vec["path"],
        vec["query"],
        hdrs,
        vec["body"].encode() if body is None else body,
    )
    return parsed


def test_full_verification(vec: dict) -> None:
    _verify(vec)


def test_verifier_object(vec: dict) -> None:
    verifier = sigv4.SigV4Verifier(region_ok=lambda r: r == vec["region"], service=vec["service"])
    parsed = verifier.verify(
        vec["method"], vec["path"], vec["query"], asgi(vec["headers"]), vec["body"].encode(),
        vec["now"], {vec["access_key_id"]: vec["secret_access_key"]}.get,
    )
    assert parsed.authorization.access_key_id == vec["access_key_id"]


# --- tampering -----------------------------------------------------------------------------

KMS = load(VECTOR_DIR / "boto3-kms-encrypt-session-token.json")
DEFAULT_MISMATCH = errors.InvalidSignature.default_message


def _replace(headers: list[list[str]], name: str, value: str) -> list[tuple[bytes, bytes]]:
    return asgi([[n, value if n == name else v] for n, v in headers])


def _expect_mismatch(**kw) -> None:
    with pytest.raises(errors.InvalidSignature) as ei:
        _verify(KMS, **kw)
    assert ei.value.message == DEFAULT_MISMATCH


def test_tampered_body() -> None:
    _expect_mismatch(body=KMS["body"].replace("alias/example", "alias/exampla").encode())


def test_body_bytes_are_hashed_not_reserialized() -> None:
    reparsed = json.dumps(json.loads(KMS["body"]), separators=(",", ":")).encode()
    _expect_mismatch(body=reparsed)


def test_tampered_signed_header() -> None:
    _expect_mismatch(headers=_replace(KMS["headers"], "x-amz-target", "TrentService.Decrypt"))


def test_tampered_host() -> None:
    _expect_mismatch(headers=_replace(KMS["headers"], "host", "localhost:9998"))


def test_tampered_date_within_skew() -> None:
    later = sigv4.format_amz_date(KMS["now"] + 1)
    _expect_mismatch(headers=_replace(KMS["headers"], "x-amz-date", later))


def test_tampered_signature() -> None:
    auth = KMS["expected"]["authorization"]
    flipped = auth[:-1] + ("0" if auth[-1] != "0" else "1")
    _expect_mismatch(headers=_replace(KMS["headers"], "authorization", flipped))


def test_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    auth = KMS["expected"]["authorization"]
    _expect_mismatch(headers=_replace(KMS["headers"], "authorization", auth[:-1] + "\xe9"))


def test_wrong_secret() -> None:
    _expect_mismatch(secret="not-the-secret")


def test_wrong_method() -> None:
    _expect_mismatch(method="PUT")


def test_unsigned_header_may_change() -> None:
    _verify(KMS, headers=_replace(KMS["headers"], "user-agent", "something else"))


def test_duplicate_signed_header_changes_canonical_form() -> None:
    _expect_mismatch(headers=asgi(KMS["headers"] + [["x-amz-target", "TrentService.Encrypt"]]))


# --- scope and clock messages (spec §1.5, exact texts) ---------------------------------------


def _parsed(amz_date: str, *, region="us-east-1", service="kms", terminal="aws4_request", scope_date=None):
    auth = (
        f"AWS4-HMAC-SHA256 Credential=AKID/{scope_date or amz_date[:8]}/{region}/{service}/{terminal}, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    return sigv4.parse_request_auth([(b"authorization", auth.encode()), (b"x-amz-date", amz_date.encode())])


def _scope_error(parsed, now, regions=frozenset({"us-east-1"})) -> str:
    with pytest.raises(errors.InvalidSignature) as ei:
        sigv4.check_scope_and_time(parsed, now, regions)
    assert ei.value.message is not None
    return ei.value.message


def test_signature_expired_message_exact() -> None:
    msg = _scope_error(_parsed("20160610T180547Z"), epoch("20160610T181112Z") + 0.75)
    assert msg == (
        "Signature expired: 20160610T180547Z is now earlier than 20160610T180612Z "
        "(20160610T181112Z - 5 min.)"
    )


def test_signature_not_yet_current_message_exact() -> None:
    msg = _scope_error(_parsed("20160610T182000Z"), epoch("20160610T181112Z"))
    assert msg == (
        "Signature not yet current: 20160610T182000Z is still later than 20160610T181612Z "
        "(20160610T181112Z + 5 min.)"
    )


@pytest.mark.parametrize("delta", [-300, -299, 0, 299, 300])
def test_skew_boundaries_inclusive(delta: int) -> None:
    now = epoch("20160610T181112Z")
    sigv4.check_scope_and_time(_parsed(sigv4.format_amz_date(now + delta)), now, {"us-east-1"})


@pytest.mark.parametrize("delta", [-301, 301])
def test_skew_just_outside(delta: int) -> None:
    now = epoch("20160610T181112Z")
    _scope_error(_parsed(sigv4.format_amz_date(now + delta)), now)


def test_region_message_exact_with_trailing_space() -> None:
    msg = _scope_error(_parsed("20160610T181112Z", region="eu-west-1"), epoch("20160610T181112Z"))
    assert msg == "Credential should be scoped to a valid region. "


def test_region_predicate_form() -> None:
    p = _parsed("20160610T181112Z", region="eu-west-1")
    sigv4.check_scope_and_time(p, epoch("20160610T181112Z"), lambda r: r.startswith("eu-"))


def test_service_message_exact_with_trailing_space() -> None:
    msg = _scope_error(_parsed("20160610T181112Z", service="s3"), epoch("20160610T181112Z"))
    assert msg == "Credential should be scoped to correct service: 'kms'. "


def test_terminator_message() -> None:
    msg = _scope_error(_parsed("20160610T181112Z", terminal="aws5_request"), epoch("20160610T181112Z"))
    assert msg == "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "


def test_scope_date_must_match_request_date() -> None:
    msg = _scope_error(_parsed("20160610T181112Z", scope_date="20160609"), epoch("20160610T181112Z"))
    assert msg == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20160609' != '20160610', from '20160610T181112Z'."
    )


# --- malformed requests ------------------------------------------------------------------------


def test_missing_authorization_header() -> None:
    with pytest.raises(errors.MissingAuthenticationToken) as ei:
        sigv4.parse_request_auth([(b"host", b"x"), (b"x-amz-date", b"20160610T181112Z")])
    assert ei.value.message == "Request is missing Authentication Token"


def test_everything_missing_lists_every_part_in_aws_order() -> None:
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_request_auth([(b"authorization", b"AWS4-HMAC-SHA256 ")])
    assert ei.value.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=AWS4-HMAC-SHA256 "
    )


def test_missing_credential_only() -> None:
    header = "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc"
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_authorization(header)
    assert ei.value.message == f"Authorization header requires 'Credential' parameter. Authorization={header}"


def test_pair_without_equal_sign() -> None:
    header = "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders, Signature=abc"
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_authorization(header)
    assert ei.value.message == (
        f"'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
    )


@pytest.mark.parametrize("alg", ["AWS4-HMAC-SHA512", "AWS", "aws4-hmac-sha256", ""])
def test_other_algorithms_are_incomplete_signature(alg: str) -> None:
    with pytest.raises(errors.IncompleteSignature):
        sigv4.parse_authorization(f"{alg} Credential=a/b/c/d/e, SignedHeaders=host, Signature=abc")


def test_credential_needs_five_parts() -> None:
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_authorization("AWS4-HMAC-SHA256 Credential=AKID/20160610/us-east-1/kms, SignedHeaders=host, Signature=a")
    assert ei.value.message == (
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
        "got 'AKID/20160610/us-east-1/kms'"
    )


def test_host_must_be_signed() -> None:
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_authorization(
            "AWS4-HMAC-SHA256 Credential=A/20160610/us-east-1/kms/aws4_request, SignedHeaders=x-amz-date, Signature=a"
        )
    assert ei.value.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


@pytest.mark.parametrize("bad", ["2016-06-10T18:11:12Z", "20160610T181112", "20160231T000000Z", "20161310T000000Z"])
def test_malformed_amz_date(bad: str) -> None:
    auth = b"AWS4-HMAC-SHA256 Credential=A/20160610/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=a"
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_request_auth([(b"authorization", auth), (b"x-amz-date", bad.encode())])
    assert ei.value.message == (
        f"Date must be in ISO-8601 'basic format'. Got '{bad}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_unparseable_date_header_counts_as_absent() -> None:
    auth = b"AWS4-HMAC-SHA256 Credential=A/20160610/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=a"
    with pytest.raises(errors.IncompleteSignature) as ei:
        sigv4.parse_request_auth([(b"authorization", auth), (b"date", b"yesterday")])
    assert "requires existence of either a 'X-Amz-Date' or a 'Date' header" in (ei.value.message or "")


def test_date_header_fallback_gives_basic_format() -> None:
    auth = b"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kms/aws4_request, SignedHeaders=date;host, Signature=a"
    parsed = sigv4.parse_request_auth([(b"authorization", auth), (b"date", b"Sun, 30 Aug 2015 14:36:00 +0200")])
    assert parsed.amz_date == "20150830T123600Z"


def test_x_amz_date_wins_over_date() -> None:
    auth = b"AWS4-HMAC-SHA256 Credential=A/20150830/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=a"
    parsed = sigv4.parse_request_auth(
        [(b"authorization", auth), (b"date", b"Mon, 31 Aug 2015 00:00:00 GMT"), (b"x-amz-date", b"20150830T123600Z")]
    )
    assert parsed.amz_date == "20150830T123600Z"


def test_unknown_access_key_is_unrecognized_client() -> None:
    verifier = sigv4.SigV4Verifier(region_ok={"us-east-1"})
    with pytest.raises(errors.UnrecognizedClient):
        verifier.verify("POST", "/", "", asgi(KMS["headers"]), KMS["body"].encode(), KMS["now"], lambda _: None)


# --- the signing-key cache -----------------------------------------------------------------------


def test_cache_is_bounded_and_never_keyed_by_the_secret() -> None:
    cache = sigv4.SigningKeyCache(max_entries=4)
    secret = "super-secret-value"
    for day in range(1, 10):
        prepared = cache.prepared("AKID", secret, f"202401{day:02d}", "us-east-1", "kms")
        expected = sigv4.signature(sigv4.signing_key(secret, f"202401{day:02d}", "us-east-1", "kms"), "msg")
        assert prepared.hexdigest(b"msg") == expected
    assert len(cache) == 4
    assert secret not in repr(cache._entries)  # noqa: SLF001 - the point of the test
    assert all(secret not in k for k in cache._entries)  # noqa: SLF001


def test_cache_distinguishes_secrets() -> None:
    cache = sigv4.SigningKeyCache()
    a = cache.prepared("AKID", "secret-a", "20240101", "us-east-1", "kms")
    b = cache.prepared("AKID", "secret-b", "20240101", "us-east-1", "kms")
    assert a.hexdigest(b"m") != b.hexdigest(b"m")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=100), st.binary(max_size=300))
def test_prepared_key_is_hmac_sha256(key: bytes, message: bytes) -> None:
    import hmac

    assert _PreparedKey(key[:64]).hexdigest(message) == hmac.new(key[:64], message, "sha256").hexdigest()


_fast_alphabet = st.sampled_from(list("AWS4-HMAC-SHA256 Credential=SignedHeaders=Signature=,;/ host\t\xa0x"))


@settings(max_examples=1000, deadline=None)
@given(st.lists(_fast_alphabet | st.sampled_from(["AWS4-HMAC-SHA256 Credential=", ", SignedHeaders=", ", Signature=", "host", "a/b/c/d/e"]), max_size=20).map("".join))
def test_fast_parser_agrees_with_general_parser(header: str) -> None:
    fast = _parse_botocore_shape(header)
    if fast is not None:
        try:
            general = _parse_general(header, date_present=True)
        except errors.TrentError as exc:  # pragma: no cover - would be a bug
            pytest.fail(f"fast parser accepted what the general parser rejects: {exc}")
        assert fast == general


_HEAD = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/kms/aws4_request, "
         "SignedHeaders=content-type;host;x-amz-date;x-amz-target")


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789abcdefABCDEF ,\t=;/\xa0é", min_size=0, max_size=70))
def test_a_remembered_header_head_parses_like_a_new_one(signature: str) -> None:
    _parse_botocore_shape(_HEAD + ", Signature=" + "0" * 64)  # remembered now
    header = _HEAD + ", Signature=" + signature
    assert _parse_botocore_shape(header) == _parse_shape(header)
    if _parse_shape(header) is not None:
        assert _parse_shape(header) == _parse_general(header, date_present=True)


def test_a_remembered_head_takes_each_requests_own_signature() -> None:
    first = _parse_botocore_shape(_HEAD + ", Signature=" + "a" * 64)
    second = _parse_botocore_shape(_HEAD + ", Signature=" + "b" * 64)
    assert first is not None and second is not None
    assert (first.signature, second.signature) == ("a" * 64, "b" * 64)
    assert first[:6] == second[:6] == ("AKIDEXAMPLE", "20261206", "us-east-1", "kms", "aws4_request",
                                       ("content-type", "host", "x-amz-date", "x-amz-target"))


# --- robustness: nothing but TrentError escapes ----------------------------------------------------

_AUTH_PIECES = st.sampled_from(
    ["AWS4-HMAC-SHA256", " ", ",", ", ", "=", "/", ";", "Credential", "SignedHeaders", "Signature",
     "host", "x-amz-date", "aws4_request", "kms", "us-east-1", "20160610", "AKID", "\x00", "é", "\ud800"]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.lists(_AUTH_PIECES | st.text(max_size=3)).map("".join)))
def test_parse_authorization_only_raises_trent_errors(header: str) -> None:
    try:
        sigv4.parse_authorization(header)
    except errors.TrentError:
        pass


_header_names = st.sampled_from(
    [b"authorization", b"x-amz-date", b"date", b"host", b"x-amz-security-token", b"x-amz-target"]
) | st.binary(max_size=8)
_header_values = st.binary(max_size=40) | _AUTH_PIECES.map(lambda s: s.encode("utf-8", "surrogatepass")) | st.just(
    KMS["expected"]["authorization"].encode()
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_header_names, _header_values), max_size=8), st.binary(max_size=64), st.floats(allow_nan=False))
def test_full_verification_only_raises_trent_errors(headers, body, now) -> None:
    verifier = sigv4.SigV4Verifier(region_ok={"us-east-1"})
    try:
        verifier.verify("POST", "/", "", headers, body, now, lambda _: "secret")
    except errors.TrentError:
        pass


# --- LowercaseHeaders: the HTTP front end's header list, indexed with one dict() --------------

def _index_view(idx):
    return {bytes(n): (idx.first(n), idx.count(n), idx.get_all(n.decode("latin-1"))) for n in idx.names()}


@pytest.mark.parametrize("pairs", [
    [(b"host", b"h"), (b"x-amz-date", b"20260101T000000Z"), (b"x-amz-target", b"TrentService.Encrypt")],
    [(b"host", b"h"), (b"x-amz-meta-a", b"1"), (b"x-amz-meta-a", b"2"), (b"x-amz-date", b"d")],
    [(b"x", b"\xff\xfe"), (b"y", b""), (b"x", b"again"), (b"x", b"third")],
    [],
])
def test_lowercase_headers_index_exactly_like_any_header_list(pairs):
    fast = sigv4.index_headers(sigv4.LowercaseHeaders(pairs))
    general = sigv4.index_headers(list(pairs))
    assert _index_view(fast) == _index_view(general)
    assert list(fast.names()) == list(general.names())
