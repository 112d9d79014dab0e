"""Super-networks: the protocol, and a registry of built-in elastic families.

Importing this package registers the built-in families (``mobilenetv3``, ``resnet``,
``nb201_cell``, ``transformer``); ``create_supernet(name, **kwargs)`` builds one.
"""

from tailor.supernets import cell, mobilenetv3, resnet, transformer  # noqa: F401  (registration)
from tailor.supernets.base import (
    HasChoiceParameters,
    HasExtremes,
    HasSparsity,
    SuperNet,
    TextEncoder,
    extreme_configs,
)
from tailor.supernets.registry import create_supernet, list_supernets, register_supernet, supernet_option_names

__all__ = [
    "HasChoiceParameters", "HasExtremes", "HasSparsity", "SuperNet", "TextEncoder", "create_supernet",
    "extreme_configs",
    "list_supernets", "register_supernet", "supernet_option_names",
]
