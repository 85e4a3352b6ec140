"""Materialisation without a protobuf per value: Feast's local engine with a columnar last step.

Feast's local compute engine converts every value of a materialised table into a
``ValueProto`` in Python and hands the online store a protobuf and a dict per row: for 19
features that is most of materialisation's time (bench/features.py). This engine runs the same plan
(source read, latest row per entity, validation) and replaces only the output step: the
rows are encoded column by column (``kaizen.features.columns``) and written by a columnar
writer of the online store (``kaizen.features.columnar_writers``: PostgreSQL through COPY,
Redis through a pipeline). Other views and stores take Feast's own path;
either way the online store ends up with the same bytes (tests/test_features.py).

Selected in ``feature_store.yaml`` by
``batch_engine: {type: kaizen.features.materialize_engine.ColumnarComputeEngine}``.
"""

from __future__ import annotations

from typing import Literal

from feast.infra.common.materialization_job import MaterializationJobStatus, MaterializationTask
from feast.infra.compute_engines.dag.context import ExecutionContext
from feast.infra.compute_engines.local.arrow_table_value import ArrowTableValue
from feast.infra.compute_engines.local.compute import LocalComputeEngine
from feast.infra.compute_engines.local.feature_builder import LocalFeatureBuilder
from feast.infra.compute_engines.local.job import LocalMaterializationJob
from feast.infra.compute_engines.local.nodes import LocalOutputNode
from feast.infra.registry.base_registry import BaseRegistry
from feast.repo_config import FeastConfigBaseModel

from kaizen.features.columnar_writers import columnar_writer
from kaizen.features.columns import ENTITY_KEY_VERSION, columnar_join_key, encode

TYPE = "kaizen.features.materialize_engine.ColumnarComputeEngine"


class ColumnarOutputNode(LocalOutputNode):
    """Writes whole columns to a store that takes them; otherwise Feast's own output step."""

    def execute(self, context: ExecutionContext) -> ArrowTableValue:
        view, store, config = self.feature_view, context.online_store, context.repo_config
        join_key = columnar_join_key(view)
        write = columnar_writer(store, config)
        if not (
            view.online
            and not view.offline
            and join_key
            and write
            and config.entity_key_serialization_version == ENTITY_KEY_VERSION
        ):
            return super().execute(context)
        table = self.get_single_table(context).data
        output = ArrowTableValue(data=table)
        context.node_outputs[self.name] = output
        if table.num_rows == 0:
            return output
        batch_size = config.materialization_config.online_write_batch_size
        for batch in table.to_batches(max_chunksize=batch_size) if batch_size else [table]:
            write(config, view, encode(batch, view, join_key))
        return output


class ColumnarFeatureBuilder(LocalFeatureBuilder):
    """Feast's local plan (source read, latest row per entity, validation) with the columnar output node."""

    def build_output_nodes(self, view, input_node):
        node = ColumnarOutputNode("output", self.dag_root.view, inputs=[input_node])
        self.nodes.append(node)
        return node


class ColumnarComputeEngineConfig(FeastConfigBaseModel):
    """What ``batch_engine`` in feature_store.yaml validates against (Feast: engine name + ``Config``)."""

    type: Literal["kaizen.features.materialize_engine.ColumnarComputeEngine"] = TYPE  # type: ignore[assignment]


class ColumnarComputeEngine(LocalComputeEngine):
    """Feast's local engine, materialising through ``ColumnarFeatureBuilder``."""

    def _materialize_one(self, registry: BaseRegistry, task: MaterializationTask, **kwargs) -> LocalMaterializationJob:
        # Feast 0.67's LocalComputeEngine._materialize_one, with the columnar builder.
        job_id = f"{task.feature_view.name}-{task.start_time}-{task.end_time}"
        context = self.get_execution_context(registry, task)
        try:
            ColumnarFeatureBuilder(registry, task, backend=self._get_backend(context)).build().execute(context)
            return LocalMaterializationJob(job_id=job_id, status=MaterializationJobStatus.SUCCEEDED)
        except Exception as exc:
            return LocalMaterializationJob(job_id=job_id, status=MaterializationJobStatus.ERROR, error=exc)
