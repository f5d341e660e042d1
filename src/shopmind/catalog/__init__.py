"""The shop's facts: schemas, the Store, importers and formats."""

from shopmind.catalog.schema import Event, Item, User, event_types, register_event_type

__all__ = ["Event", "Item", "User", "event_types", "register_event_type"]
