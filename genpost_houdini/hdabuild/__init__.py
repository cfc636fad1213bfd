"""Generator of expanded (text) Houdini digital assets from the declarative sources in ``hda/``.

No ``hou`` here: the files Houdini would write for a Python-type operator, or for a subnet asset
with its inner network (``subnet``: ``Contents.dir/Contents.mime``), are produced as text,
deterministically (same sources, same bytes), so ``otls/`` can be rebuilt and checked for drift
on any machine. Entry points: :func:`genpost_houdini.hdabuild.build.build_tree`,
:func:`genpost_houdini.hdabuild.build.write_tree`, :func:`genpost_houdini.hdabuild.build.diff_tree`.
"""
