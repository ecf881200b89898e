"""The key policy editor and the "explain" page (issue 21).

Editor: GetKeyPolicy into a textarea; "Check" parses the draft with the same policy
parser PutKeyPolicy uses (JSON, structure, elements, size) without saving and without
looking principals up (that would tell whether users of other accounts exist); "Save"
is PutKeyPolicy, which also checks principals and the lockout rule. A refused draft is
shown again with the API's error. The static script checks JSON syntax as you type.

Explain: would principal P be allowed action A on this key with encryption context C,
and why — the server's explanation (``/_trent/authz/explain``'s, with its access rule:
the caller must itself be allowed GetKeyPolicy on the key), shown as every statement and
grant with its outcome, the deciding ones marked.
"""

from __future__ import annotations

from typing import Any

from trent import errors
from trent.authz import IAM_ONLY_ACTIONS, parse_key_policy
from trent.protocol.errors import wire_error
from trent.protocol.validation import operation_names
from trent.server.console.calls import CallFailed
from trent.server.console.forms import key_value_lines
from trent.server.console.http import Reply
from trent.server.console.page import Page

# Actions a key policy decides: every KMS operation on a key, ReEncrypt as its two halves.
KEY_ACTIONS = sorted(
    {f"kms:{op}" for op in operation_names() if op not in IAM_ONLY_ACTIONS and op != "ReEncrypt"}
    | {"kms:ReEncryptFrom", "kms:ReEncryptTo"}
)


def _editor(page: Page, key_id: str, *, draft: str | None = None, error: CallFailed | str | None = None,
            check: str | None = None, status: int = 200) -> Reply:
    api = page.api
    md = api.attempt("DescribeKey", {"KeyId": key_id})
    if isinstance(md, CallFailed):
        return page.render("problem.html", md.status, title="Key not available", message="", error=md)
    current = api.attempt("GetKeyPolicy", {"KeyId": key_id, "PolicyName": "default"})
    if isinstance(current, CallFailed) and draft is None:
        return page.render("policy.html", current.status, section="keys", md=md["KeyMetadata"], policy=None,
                           error=current, check=None)
    text = draft if draft is not None else current["Policy"]  # type: ignore[index]
    return page.render("policy.html", status, section="keys", md=md["KeyMetadata"], policy=text, error=error,
                       check=check)


def page(page: Page, key_id: str) -> Reply:
    return _editor(page, key_id)


def submit(page: Page, key_id: str) -> Reply:
    form = page.form
    draft = form.get("policy")
    if form.get("go") == "check":
        partition = page.api.identity.principal.arn.split(":")[1]
        try:
            parse_key_policy(draft, partition=partition)
        except errors.TrentError as exc:
            return _editor(page, key_id, draft=draft, status=400,
                           error=f"{wire_error(exc).type_name}: {exc.message or 'the policy is not valid'}")
        return _editor(page, key_id, draft=draft,
                       check="The draft is well-formed. Saving also checks that its principals exist and that it "
                             "still lets you change the policy.")
    params: dict[str, Any] = {"KeyId": key_id, "PolicyName": "default", "Policy": draft}
    if form.get("bypass_lockout") == "true":
        params["BypassPolicyLockoutSafetyCheck"] = True
    try:
        page.api.call("PutKeyPolicy", params)
    except CallFailed as failed:
        return _editor(page, key_id, draft=draft, error=failed, status=failed.status)
    return page.back("keys", key_id, "policy", notice="policy-saved")


def explain(page: Page, key_id: str) -> Reply:
    api = page.api
    request = page.request
    md = api.attempt("DescribeKey", {"KeyId": key_id})
    if isinstance(md, CallFailed):
        return page.render("problem.html", md.status, title="Key not available", message="", error=md)
    asked = {
        "principal": request.arg("principal").strip() or api.identity.principal.arn,
        "action": request.arg("action").strip() or "kms:Decrypt",
        "context": request.arg("context"),
        "source_ip": request.arg("source_ip").strip(),
    }
    answer: dict[str, Any] | None = None
    error: CallFailed | str | None = None
    if request.arg("run"):
        query: dict[str, Any] = {"Principal": asked["principal"], "Action": asked["action"],
                                 "KeyId": md["KeyMetadata"]["Arn"]}
        try:
            context = key_value_lines(asked["context"])
        except ValueError as exc:
            error = f"Encryption context: {exc}"
        else:
            if context:
                query["EncryptionContext"] = dict(context)
            if asked["source_ip"]:
                query["SourceIp"] = asked["source_ip"]
            try:
                answer = api.explain(query)
            except CallFailed as failed:
                error = failed
    return page.render("explain.html", 400 if isinstance(error, str) else 200, section="keys",
                       md=md["KeyMetadata"], asked=asked, answer=answer, error=error, actions=KEY_ACTIONS)
