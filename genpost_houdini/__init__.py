"""genpost-houdini: generative set extension and crowd replication locked to the shot.

The core is a plain library (no ``hou``/``pdg``) plus the ``genpost`` command line. Heavy
packages (torch, diffusers, tensorrt) are imported lazily by the modules that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
