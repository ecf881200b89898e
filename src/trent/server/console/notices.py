"""The fixed texts a page may show after a redirect (``?notice=<code>``): never text
from the URL itself, so a link cannot make the console say anything else."""

from __future__ import annotations

NOTICES = {
    "signed-out": "You are signed out.",
    "expired": "Your session ended. Sign in again.",
    "created": "The key was created.",
    "created-no-alias": "The key was created, but its alias could not be: see the error below the aliases.",
    "enabled": "The key is enabled.",
    "disabled": "The key is disabled.",
    "deletion-scheduled": "Deletion is scheduled. Cancel it any time before the date shown.",
    "deletion-cancelled": "Deletion is cancelled; the key is disabled until you enable it.",
    "rotated": "The key material was rotated.",
    "rotation-enabled": "Automatic rotation is on.",
    "rotation-disabled": "Automatic rotation is off.",
    "description-updated": "The description was saved.",
    "tag-saved": "The tag was saved.",
    "tag-removed": "The tag was removed.",
    "alias-added": "The alias was added.",
    "alias-removed": "The alias was removed.",
    "policy-saved": "The key policy was saved.",
    "grant-created": "The grant was created.",
    "grant-revoked": "The grant was revoked.",
    "grant-retired": "The grant was retired.",
    "material-imported": "The key material was imported.",
    "material-deleted": "The imported key material was deleted.",
    "store-created": "The custom key store was created. Connect it to use it.",
    "store-connected": "The custom key store is connected.",
    "store-disconnected": "The custom key store is disconnected.",
    "store-deleted": "The custom key store was deleted.",
    "region-switched": "Region switched.",
}


def notice_text(code: str) -> str | None:
    return NOTICES.get(code)
