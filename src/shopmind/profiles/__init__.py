"""Shopper portraits: affinities, price band, activity (RFM, lifecycle) and interests."""

from shopmind.profiles.items import ProfileItems
from shopmind.profiles.profile import (
    Profile,
    ProfileConfig,
    ShopperEvents,
    build_profile,
    build_profiles,
    shop_time,
)

__all__ = [
    "Profile",
    "ProfileConfig",
    "ProfileItems",
    "ShopperEvents",
    "build_profile",
    "build_profiles",
    "shop_time",
]
