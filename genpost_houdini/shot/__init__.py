"""Shot description: USD camera tracks and frame sequences.

Importing this package imports nothing heavy (the CLI's parser reads :data:`DEPTH_KINDS`).
"""

#: How depth files store depth (``--depth-kind``): planar camera-space Z, or ray distance from
#: the camera centre (:mod:`.rays` converts).
DEPTH_KINDS = ("planar", "ray")
