"""Import key material into an EXTERNAL key (issue 21, spec §9), as the AWS console does.

1. Download the wrapping public key and import token: GetParametersForImport, answered
   as a zip of ``WrappingPublicKey.bin`` (DER SubjectPublicKeyInfo), ``ImportToken.bin``
   and a README, the AWS console's layout. The token is opaque (sealed under the root of
   trust) and is exactly what the API returns to the same caller.
2. Upload the encrypted material and the token (multipart form): ImportKeyMaterial with
   the expiration model and date.
3. Delete imported material: DeleteImportedKeyMaterial.
"""

from __future__ import annotations

import base64
import calendar
import io
import time
import zipfile
from typing import Any

from trent.crypto.key_import import WRAPPING_ALGORITHMS, WRAPPING_KEY_BITS
from trent.server.console.calls import CallFailed
from trent.server.console.http import Reply
from trent.server.console.page import Page

ALGORITHMS = sorted(WRAPPING_ALGORITHMS)
WRAPPING_SPECS = sorted(WRAPPING_KEY_BITS)
EXPIRES = "KEY_MATERIAL_EXPIRES"
DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def page(page: Page, key_id: str, *, error: CallFailed | str | None = None, status: int = 200) -> Reply:
    api = page.api
    md = api.attempt("DescribeKey", {"KeyId": key_id})
    if isinstance(md, CallFailed):
        return page.render("problem.html", md.status, title="Key not available", message="", error=md)
    metadata = md["KeyMetadata"]
    materials: list[dict[str, Any]] | CallFailed | None = None
    if metadata["KeySpec"] == "SYMMETRIC_DEFAULT" and metadata["Origin"] == "EXTERNAL":
        try:
            materials = list(api.pages("ListKeyRotations", {"KeyId": metadata["KeyId"],
                                                            "IncludeKeyMaterial": "ALL_KEY_MATERIAL"}, "Rotations"))
        except CallFailed as failed:
            materials = failed
    if status == 200 and error is not None:
        status = error.status if isinstance(error, CallFailed) else 400
    return page.render("import.html", status, section="keys", md=metadata, materials=materials, error=error,
                       algorithms=ALGORITHMS, wrapping_specs=WRAPPING_SPECS, expires=EXPIRES,
                       does_not_expire=DOES_NOT_EXPIRE)


def _readme(key_arn: str, algorithm: str, spec: str, valid_to: float) -> bytes:
    return (
        f"Import parameters for {key_arn}\n\n"
        f"WrappingPublicKey.bin  the {spec} public key (DER SubjectPublicKeyInfo) to wrap your key material with\n"
        f"ImportToken.bin        the import token to upload with the wrapped material\n\n"
        f"Wrapping algorithm: {algorithm}\n"
        f"Both expire at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(valid_to))}.\n"
    ).encode()


def parameters(page_: Page, key_id: str) -> Reply:
    form = page_.form
    algorithm, spec = form.get("algorithm"), form.get("wrapping_key_spec")
    try:
        body = page_.api.call("GetParametersForImport",
                              {"KeyId": key_id, "WrappingAlgorithm": algorithm, "WrappingKeySpec": spec})
    except CallFailed as failed:
        return page(page_, key_id, error=failed)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("WrappingPublicKey.bin", base64.b64decode(body["PublicKey"]))
        z.writestr("ImportToken.bin", base64.b64decode(body["ImportToken"]))
        z.writestr("README.txt", _readme(body["KeyId"], algorithm, spec, float(body["ParametersValidTo"])))
    name = f"ImportParameters-{key_id}.zip"
    return Reply(200, archive.getvalue(), "application/zip",
                 (("content-disposition", f'attachment; filename="{name}"'),))


def _valid_to(text: str) -> float | str:
    """YYYY-MM-DD (end of that day, UTC) or as typed, for the API to refuse."""
    try:
        return float(calendar.timegm(time.strptime(text.strip(), "%Y-%m-%d")) + 86_399)
    except ValueError:
        return text


def upload(page_: Page, key_id: str) -> Reply:
    form = page_.form
    material, token = form.file("material"), form.file("token")
    if material is None or token is None:
        return page(page_, key_id, error="Choose both files: the encrypted key material and the import token.")
    params: dict[str, Any] = {
        "KeyId": key_id,
        "ImportToken": base64.b64encode(token.data).decode(),
        "EncryptedKeyMaterial": base64.b64encode(material.data).decode(),
        "ExpirationModel": form.get("expiration_model") or DOES_NOT_EXPIRE,
    }
    if params["ExpirationModel"] == EXPIRES:
        params["ValidTo"] = _valid_to(form.get("valid_to"))
    if form.get("description").strip():
        params["KeyMaterialDescription"] = form.get("description").strip()
    try:
        page_.api.call("ImportKeyMaterial", params)
    except CallFailed as failed:
        return page(page_, key_id, error=failed)
    return page_.back("keys", key_id, notice="material-imported")


def delete(page_: Page, key_id: str) -> Reply:
    try:
        page_.api.call("DeleteImportedKeyMaterial", {"KeyId": key_id})
    except CallFailed as failed:
        return page(page_, key_id, error=failed)
    return page_.back("keys", key_id, notice="material-deleted")
