"""A feature view's rows as columns for online stores: each distinct value converted once.

Feast converts every value of a materialised table into a ``ValueProto`` in Python. Here
each feature column is converted once per distinct value, with Feast's own converter,
and mapped back to the rows by index; entity keys get Feast's serialisation. Online
stores write what they would have written from Feast's rows (``kaizen.features.online_store``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.type_map import python_values_to_proto_values
from feast.types import PrimitiveFeastType, String

ENTITY_KEY_VERSION = 3


@dataclass(frozen=True)
class Column:
    """A feature column: its distinct values as Feast converts them, and each row's index."""

    values: list[ValueProto]
    codes: np.ndarray

    def rows(self, per_value: list) -> list:
        """``per_value[i]`` (something derived from ``values[i]``) for every row."""
        return [per_value[c] for c in self.codes.tolist()]


@dataclass(frozen=True)
class Columns:
    """A batch of a feature view's rows, ready for an online store."""

    entity_keys: list[bytes]  # serialize_entity_key of each row
    features: dict[str, Column]
    event_ts: pa.Array  # timestamp (naive ones are UTC, as for Feast)
    created_ts: pa.Array | None

    def __len__(self) -> int:
        return len(self.entity_keys)


def columnar_join_key(view) -> str | None:
    """The view's single string join key, when every feature is a scalar: the case encoded here."""
    keys = view.entity_columns
    scalar = all(isinstance(f.dtype, PrimitiveFeastType) for f in view.features)
    return keys[0].name if scalar and len(keys) == 1 and keys[0].dtype == String else None


def encode(batch: pa.RecordBatch | pa.Table, view, join_key: str) -> Columns:
    features = {f.name: encode_column(batch.column(f.name), f.dtype.to_value_type()) for f in view.features}
    source = view.batch_source
    created = source.created_timestamp_column
    return Columns(
        entity_keys=entity_keys(batch.column(join_key), join_key),
        features=features,
        event_ts=_flat(batch.column(source.timestamp_field)),
        created_ts=_flat(batch.column(created)) if created else None,
    )


def encode_column(column: pa.Array | pa.ChunkedArray, value_type) -> Column:
    """Feast's conversion (``python_values_to_proto_values`` over ``to_numpy``) per distinct value."""
    column = _flat(column)
    encoded = pc.dictionary_encode(column)
    distinct = python_values_to_proto_values(encoded.dictionary.to_numpy(zero_copy_only=False), value_type)
    codes = encoded.indices
    if codes.null_count:  # nulls get one more entry: whatever Feast makes of a null of this type
        null = pa.array([None], type=column.type).to_numpy(zero_copy_only=False)
        distinct.append(python_values_to_proto_values(null, value_type)[0])
        codes = pc.fill_null(codes, len(distinct) - 1)
    return Column(distinct, codes.to_numpy(zero_copy_only=False))


def entity_keys(column: pa.Array | pa.ChunkedArray, join_key: str) -> list[bytes]:
    """``serialize_entity_key`` (version 3) of each string id, without a proto per row."""
    ids = _flat(column).cast(pa.string()).to_pylist()
    if any(i is None for i in ids):
        raise ValueError(f"null {join_key} in a materialised table")
    empty = serialize_entity_key(
        EntityKeyProto(join_keys=[join_key], entity_values=[ValueProto(string_val="")]), ENTITY_KEY_VERSION
    )
    prefix, string_type = empty[:-8], struct.unpack("<I", empty[-8:-4])[0]
    keys = [prefix + struct.pack("<II", string_type, len(b)) + b for b in (i.encode("utf8") for i in ids)]
    if keys:  # the layout is Feast's: check it against Feast on the first row
        first = EntityKeyProto(join_keys=[join_key], entity_values=[ValueProto(string_val=ids[0])])
        if serialize_entity_key(first, ENTITY_KEY_VERSION) != keys[0]:
            raise RuntimeError("Feast's entity key layout changed: the columnar writer no longer matches it")
    return keys


def _flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
