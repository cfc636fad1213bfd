"""The shared inference runtime.

- :mod:`.registry`: one process-wide model registry (load once per key, memory budget, LRU).
- :mod:`.device`: device and dtype choice (stated in the log).
- :mod:`.onnx_export`: ONNX export of the Wan denoiser (dynamo exporter) and parity checks.
- :mod:`.engine_cache`: on-disk cache of ONNX models and TensorRT engines (locked, atomic).
- :mod:`.tensorrt_backend`: optional TensorRT engine build and execution.
- :mod:`.denoiser`: ``swap_denoiser`` puts an ONNX Runtime / TensorRT stand-in into a pipeline.
- :mod:`.worker`: the runtime in a local worker process shared by several Houdini sessions.

Importing this package imports neither torch nor any other heavy library.
"""

from __future__ import annotations

__all__: list[str] = []
