"""layerscope: what a (Windows) container image really costs at node launch."""

__version__ = "0.1.0"
