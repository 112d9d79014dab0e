"""Built-in block enumerators: importing this package registers them (one module per family)."""

from tailor.latency_table.families import cell, minilm, mobilenetv3, resnet

__all__ = ["cell", "minilm", "mobilenetv3", "resnet"]
