"""`genpost worker`: the shared runtime in a local worker process (Unix socket, per user)."""

from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "worker",
        help="run (or query/stop) the local model worker shared by Houdini sessions",
        description="Serve generate requests on a Unix socket in a per-user runtime folder "
        "($GENPOST_WORKER_DIR, else $XDG_RUNTIME_DIR/genpost, else /tmp/genpost-UID). Models stay "
        "loaded between requests; killing the worker frees its GPU memory; clients start a fresh "
        "one when none answers.",
    )
    p.add_argument("--socket", default=None, help="socket path (default: RUNTIME_DIR/worker.sock)")
    p.add_argument("--idle-timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="exit after this long without requests (0 = never; default 1800)")
    p.add_argument("--preload", action="append", default=[], metavar="MODULE",
                   help="import MODULE at start (e.g. one that registers generators); repeatable")
    p.add_argument("--status", action="store_true", help="print the running worker's status (JSON) and exit")
    p.add_argument("--stop", action="store_true", help="stop the running worker and exit")
    p.add_argument("--release", action="store_true", help="ask the running worker to drop its loaded models")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..errors import TransientError
    from ..runtime.worker import WorkerClient, serve

    if args.status or args.stop or args.release:
        client = WorkerClient(args.socket, autostart=False)
        status = client.ping()
        if status is None:
            raise TransientError(f"no genpost worker answers on {client.socket_path}")
        if args.release:
            status["released"] = client.release()
        if args.stop:
            status["stopped"] = client.shutdown()
        print(json.dumps(status, indent=2))
        return 0
    from ..generators.registry import get_generator

    return serve(args.socket, idle_timeout=args.idle_timeout or None, preload=args.preload, make_generator=get_generator)
