"""Super-networks: the protocol, and a registry of built-in elastic families.

Importing this package registers the built-in families (``mobilenetv3``, ``resnet``,
``nb201_cell``, ``transformer``); ``create_supernet(name, **kwargs)`` builds one.
"""

from tailor.supernets import cell, mobilenetv3, resnet, transformer  # noqa: F401  (registration)
from tailor.supernets.base import SuperNet
from tailor.supernets.registry import create_supernet, list_supernets, register_supernet

__all__ = ["SuperNet", "create_supernet", "list_supernets", "register_supernet"]
