"""Sparse sub-networks that run faster: pruning masks, a block-sparse SpMM kernel, sparse modules.

- Pruning: ``Pruner`` (masks kept through optimiser steps), ``random_prune`` with uniform / ER /
  ERK layer densities, ``GradualPruner`` (Zhu & Gupta's cubic schedule, a trainer callback).
- Kernel: XNNPACK's SpMM design compiled with numba (numpy fallback, said once).
- Runtime: ``sparsify(model)`` swaps pruned 1x1 convolutions / linear layers for
  ``SparseConv2d`` / ``SparseLinear``, which keep dense execution where it measures faster.
- Export: ``save_sparse`` / ``load_sparse`` (state dict + runtime description; ONNX stays dense).
"""

from tailor.sparse._format import BLOCKS, PackedWeight, infer_block, pack
from tailor.sparse._kernel import backend, max_threads, spmm
from tailor.sparse._sparsify import densify, sparse_layers, sparse_runtime, sparsify, weight_sparsity
from tailor.sparse.density import DISTRIBUTIONS, check_sparsity, layer_densities
from tailor.sparse.export import load_sparse, runtime_description, save_sparse
from tailor.sparse.fold import fold_batchnorm, fold_conv_bn
from tailor.sparse.modules import SparseConv2d, SparseLinear
from tailor.sparse.nested import NestedMask
from tailor.sparse.pruning import Pruner, layers_of, prunable, random_prune
from tailor.sparse.schedule import GradualPruner, cubic_sparsity

__all__ = [
    "BLOCKS",
    "DISTRIBUTIONS",
    "GradualPruner",
    "NestedMask",
    "PackedWeight",
    "Pruner",
    "SparseConv2d",
    "SparseLinear",
    "backend",
    "check_sparsity",
    "cubic_sparsity",
    "densify",
    "fold_batchnorm",
    "fold_conv_bn",
    "infer_block",
    "layer_densities",
    "layers_of",
    "load_sparse",
    "max_threads",
    "pack",
    "prunable",
    "random_prune",
    "runtime_description",
    "save_sparse",
    "sparse_layers",
    "sparse_runtime",
    "sparsify",
    "spmm",
    "weight_sparsity",
]
