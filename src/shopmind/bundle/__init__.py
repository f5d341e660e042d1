"""The versioned artifact an Engine serves: its typed manifest, item table, writer and store."""

from shopmind.bundle.items import IMAGE_ATTRIBUTES, TRENDING_DAYS, ItemTable, image_of
from shopmind.bundle.manifest import (
    FORMAT_VERSION,
    DataStats,
    Manifest,
    SimilarBlend,
    library_versions,
    new_version,
)
from shopmind.bundle.store import MANIFEST, Bundle, BundleStore, BundleWriter

__all__ = [
    "FORMAT_VERSION",
    "IMAGE_ATTRIBUTES",
    "MANIFEST",
    "TRENDING_DAYS",
    "Bundle",
    "BundleStore",
    "BundleWriter",
    "DataStats",
    "ItemTable",
    "Manifest",
    "SimilarBlend",
    "image_of",
    "library_versions",
    "new_version",
]
