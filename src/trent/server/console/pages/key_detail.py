"""A key's page (issue 21): metadata, aliases, tags, rotation status and history, key
material and import state, deletion date, multi-Region configuration, public key — each
section from its own API call, so a principal allowed DescribeKey but not, say,
GetKeyPolicy or ListResourceTags sees that section's denial and nothing else of it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from trent.server.console.calls import CallFailed, ConsoleCaller
from trent.server.console.http import Reply
from trent.server.console.page import Page
from trent.server.console.svg import rotation_timeline

Section = dict[str, Any] | CallFailed | None  # None: not applicable to this key


@dataclass
class KeyView:
    metadata: dict[str, Any]
    aliases: list[dict[str, Any]] | CallFailed
    tags: list[dict[str, str]] | CallFailed
    rotation: Section = None
    materials: list[dict[str, Any]] | CallFailed | None = None
    public_key_pem: str | CallFailed | None = None
    timeline: Markup | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key_id(self) -> str:
        return str(self.metadata["KeyId"])

    @property
    def symmetric_encryption(self) -> bool:
        return self.metadata.get("KeySpec") == "SYMMETRIC_DEFAULT"

    @property
    def rotatable(self) -> bool:
        """spec §5.4: symmetric encryption keys outside custom key stores rotate."""
        return self.symmetric_encryption and "CustomKeyStoreId" not in self.metadata

    @property
    def imported(self) -> bool:
        return self.metadata.get("Origin") == "EXTERNAL"

    @property
    def asymmetric(self) -> bool:
        return str(self.metadata.get("KeySpec", "")).startswith(("RSA_", "ECC_", "ML_DSA_", "ML_KEM_"))


def _listing(api: ConsoleCaller, operation: str, params: dict[str, Any], member: str) -> list[Any] | CallFailed:
    try:
        return list(api.pages(operation, params, member))
    except CallFailed as failed:
        return failed


def _pem(der: bytes) -> str:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(lines) + "\n-----END PUBLIC KEY-----\n"


def load(api: ConsoleCaller, key_id: str) -> KeyView:
    """CallFailed if the key cannot be described at all."""
    metadata = api.call("DescribeKey", {"KeyId": key_id})["KeyMetadata"]
    key_id = metadata["KeyId"]
    view = KeyView(
        metadata,
        _listing(api, "ListAliases", {"KeyId": key_id, "Limit": 100}, "Aliases"),
        _listing(api, "ListResourceTags", {"KeyId": key_id, "Limit": 50}, "Tags"),
    )
    if view.rotatable:
        if not (view.imported and metadata.get("KeyState") == "PendingImport"):
            view.rotation = api.attempt("GetKeyRotationStatus", {"KeyId": key_id})
        view.materials = _listing(api, "ListKeyRotations",
                                  {"KeyId": key_id, "IncludeKeyMaterial": "ALL_KEY_MATERIAL", "Limit": 100},
                                  "Rotations")
    if view.asymmetric and metadata.get("KeyState") not in ("PendingImport", "PendingDeletion"):
        result = api.attempt("GetPublicKey", {"KeyId": key_id})
        view.public_key_pem = result if isinstance(result, CallFailed) else _pem(base64.b64decode(result["PublicKey"]))
    if isinstance(view.materials, list) and view.materials:
        rotation = view.rotation if isinstance(view.rotation, dict) else {}
        view.timeline = rotation_timeline(view.materials, float(metadata["CreationDate"]),
                                          rotation.get("NextRotationDate"))
    return view


def page(page: Page, key_id: str, *, error: CallFailed | str | None = None, status: int = 200, **extra: Any) -> Reply:
    try:
        view = load(page.api, key_id)
    except CallFailed as failed:
        return page.render("problem.html", failed.status, title="Key not available", message="", error=failed)
    if error is not None and status == 200 and isinstance(error, CallFailed):
        status = error.status
    return page.render("key_detail.html", status, section="keys", key=view, md=view.metadata, error=error,
                       **extra)
