"""The declared mapping from a shop's tables to Kaizen's events and catalogue.

One versioned YAML file (``KAIZEN_SHOP_MAPPING``; the demo shop's is built in) says where
events and the catalogue come from (a table, or a query when columns need converting),
which column plays each part, the time zone of timestamps stored without one, and how the
shop's event types map to Kaizen's. It is checked here for shape (unknown keys, a missing
column, an event type mapped twice) and by :mod:`kaizen.ingest.source` against the
database (columns that do not exist, types that do not fit), each error naming its field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from kaizen.config import Settings
from kaizen.errors import ConfigError

DEMO_SHOP = Path(__file__).parent / "mappings" / "demo_shop.yaml"
EVENT_TYPES = ("view", "addtocart", "transaction")  # Kaizen's event model

# A plain column name: anything more (casts, expressions) belongs in a ``from`` query.
Column = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EventColumns(_Strict):
    event_id: Column = Field(description="An integer id of the event, unique in the shop.")
    session_id: Column
    visitor_id: Column | None = None
    item_id: Column
    event_type: Column
    occurred_at: Column = Field(description="When the shopper acted: decides the event's day.")
    recorded_at: Column | None = Field(
        None, description="When the shop stored the event: dates rows that lack occurred_at, so they reach quarantine."
    )


class CatalogColumns(_Strict):
    item_id: Column
    category_id: Column | None = None
    price: Column | None = None
    available: Column | None = Field(None, description="Unmapped: every item is available.")
    updated_at: Column = Field(description="When the row last changed: the catalogue's 'valid since'.")


class _Entity(_Strict):
    source: str = Field(alias="from", description="A table ([schema.]name) or a SELECT query.")
    timezone: str = Field("UTC", description="Time zone of timestamp columns stored without one.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)") from exc
        return value

    @property
    def is_query(self) -> bool:
        return self.source.lstrip().lower().startswith(("select", "with"))


class Events(_Entity):
    columns: EventColumns
    event_types: dict[Literal["view", "addtocart", "transaction"], list[str]] = Field(
        description="Kaizen's event type: the shop's values that mean it."
    )

    @model_validator(mode="after")
    def _each_value_once(self) -> Events:
        seen: dict[str, str] = {}
        for kaizen_type, values in self.event_types.items():
            for value in values:
                if value in seen and seen[value] != kaizen_type:
                    raise ValueError(f"event_types: {value!r} is mapped to both {seen[value]} and {kaizen_type}")
                seen[value] = kaizen_type
        return self

    def type_of(self) -> dict[str, str]:
        """The shop's value -> Kaizen's event type."""
        return {value: kaizen_type for kaizen_type, values in self.event_types.items() for value in values}


class Catalog(_Entity):
    columns: CatalogColumns


class Mapping(_Strict):
    version: Literal[1]
    events: Events
    catalog: Catalog
    path: Path = Field(Path(""), exclude=True)


def mapping_path(settings: Settings) -> Path:
    return settings.shop_mapping if str(settings.shop_mapping) not in ("", ".") else DEMO_SHOP


def load(settings: Settings) -> Mapping:
    """The configured mapping, checked for shape; ConfigError names each wrong field."""
    return parse(mapping_path(settings))


def parse(path: Path) -> Mapping:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"KAIZEN_SHOP_MAPPING: cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return Mapping.model_validate({**(raw or {}), "path": path})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None
