"""Cryptographic materials managers: turn requests into materials (ESDK CMM interface)."""

from .base import MaterialsManager
from .caching import CachingMaterialsManager, LocalMaterialsCache
from .default import DefaultMaterialsManager
from .required import RequiredContextMaterialsManager

__all__ = [
    "CachingMaterialsManager",
    "DefaultMaterialsManager",
    "LocalMaterialsCache",
    "MaterialsManager",
    "RequiredContextMaterialsManager",
]
