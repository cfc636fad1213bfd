"""Houdini-facing glue: the only modules of genpost_houdini that import ``hou`` or ``pdg``.

Those imports happen inside functions, so every module here can be imported (and tested) in
plain Python. Pure logic lives in functions taking plain objects (pxr stages, dicts, paths);
the ``hou`` calls are a few lines around them:

- ``lop``: buttons (Generate, Submit to Farm), menus and inner-node expressions of the Set
  Extension and Crowd Replicate LOPs (subnets; the cook only loads what is on disk).
- ``sop`` / ``cop``: the Generate SOP on volumes and the Copernicus Python Snippet entry point.
- ``wedge``: the Wedge TOP's two Python Processors (work items; the outputs each chunk wrote).
- ``smoke`` / ``smoke_hython``: ``genpost houdini smoke`` (this side / the hython side).
- ``stageinfo``: cameras / region prims on a stage, the stage file handed to a job.
- ``process``: running ``genpost`` as an interruptible subprocess.
- ``env``: the model environment made by ``genpost houdini setup`` and how to reach genpost.
- ``setup`` / ``doctor``: what ``genpost houdini setup`` and ``genpost doctor`` do.
"""
