"""genpost-houdini start-up: make ``genpost_houdini`` importable in Houdini's Python.

Houdini runs every ``pythonrc.py`` on HOUDINI_PATH at start-up: ``python3.11libs/`` serves
Houdini 20.5 and 21 (Python 3.11), ``scripts/python/`` every version (Houdini 22 runs 3.13), so
both hold this same code and it does nothing the second time. It only adds ``$GENPOST_ROOT``
(set by package.json) to ``sys.path``: no numpy, torch or genpost import at start-up. The model
environment is added later, by the nodes that need it
(``genpost_houdini.houdini.env.activate_model_env``).
"""

import os
import sys


def _genpost_startup():
    root = os.environ.get("GENPOST_ROOT", "")
    if root and os.path.isdir(os.path.join(root, "genpost_houdini")) and root not in sys.path:
        sys.path.append(root)


_genpost_startup()
del _genpost_startup
