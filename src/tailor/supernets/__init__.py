"""Super-networks: the protocol, and a registry of built-in elastic families."""

from tailor.supernets.base import SuperNet

__all__ = ["SuperNet"]
