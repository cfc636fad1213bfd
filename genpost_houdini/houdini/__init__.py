"""Houdini-facing glue: the only modules of genpost_houdini that import ``hou`` or ``pdg``.

Those imports happen inside functions, so every module here can be imported (and tested) in
plain Python. Pure logic lives in functions taking plain objects (pxr stages, dicts, paths);
the ``hou`` calls are a few lines around them:

- ``lop``: cook and callbacks of the Set Extension and Crowd Replicate LOPs.
- ``sop`` / ``cop``: the Generate SOP on volumes and the Copernicus Python Snippet entry point.
- ``wedge``: PDG work items (frame chunks x wedges) for a Python Processor TOP.
- ``stageinfo``: cameras / region prims on a stage, the stage file handed to a job.
- ``process``: running ``genpost`` as an interruptible subprocess.
- ``env``: the model environment made by ``genpost houdini setup`` and how to reach genpost.
- ``setup`` / ``doctor``: what ``genpost houdini setup`` and ``genpost doctor`` do.
"""
