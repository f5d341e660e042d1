"""The deterministic synthetic shop with planted truth: segments, complementary pairs, price
bands, queries. For tests, benchmarks and the demo; nothing at serving time needs it."""

from shopmind.synthetic.config import SyntheticConfig
from shopmind.synthetic.shop import (
    EventColumns,
    PlantedTruth,
    SyntheticShop,
    generate,
    write_to_store,
)

__all__ = [
    "EventColumns",
    "PlantedTruth",
    "SyntheticConfig",
    "SyntheticShop",
    "generate",
    "write_to_store",
]
