"""Profiled latency tables (OFA / ProxylessNAS style) and the predictor built on them.

``tailor profile`` measures every distinct block a family can run (``blocks``, one enumerator per
family under ``families``) on the target device (``runner``, which needs only onnxruntime and
numpy); ``LatencyTable`` predicts a sub-network's latency as a corrected sum of its blocks, and
``TableLatencyEvaluator`` makes that the search's latency objective.
"""

from tailor.latency_table.blocks import BlockFamily, BlockSpec, block_family, register_blocks, table_families
from tailor.latency_table.evaluator import TableLatencyEvaluator
from tailor.latency_table.table import LatencyTable, MissingBlockError

__all__ = ["BlockFamily", "BlockSpec", "LatencyTable", "MissingBlockError", "TableLatencyEvaluator",
           "block_family", "register_blocks", "table_families"]
