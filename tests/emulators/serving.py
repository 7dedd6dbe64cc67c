"""How both emulators run once their server is built: print
``READY http://host:port``, serve until SIGTERM/SIGINT or until standard
input closes (when it is a pipe, so a dead test harness never leaves one
running), then leave at once."""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from typing import Any


def stdin_is_watchable() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    # A pipe or socket closes when the parent dies; /dev/null or a TTY does not
    # tell us anything useful, so only those are watched.
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def serve_until_stopped(server: Any, host: str, watch_stdin: bool) -> int:
    """Runs a socketserver-style `server`; returns 1 if serving died."""
    # Keep-alive connections of clients must not hold up shutdown.
    server.daemon_threads = True
    server.block_on_close = False
    return run_until_stopped(server.serve_forever, server.server_address[1], host, watch_stdin)


def run_until_stopped(serve_forever: Any, port: int, host: str, watch_stdin: bool) -> int:
    """Runs `serve_forever` (listening on `port`) in a thread; returns 1 if it died."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if watch_stdin and stdin_is_watchable():

        def watch() -> None:
            try:
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            except OSError:
                pass
            stop.set()

        threading.Thread(target=watch, name="stdin-watch", daemon=True).start()

    serving = threading.Thread(target=serve_forever, name="serve", daemon=True)
    serving.start()
    shown = "127.0.0.1" if host in ("127.0.0.1", "0.0.0.0", "localhost") else host
    sys.stdout.write(f"READY http://{shown}:{port}\n")
    sys.stdout.flush()

    while not stop.wait(0.1):
        if not serving.is_alive():
            return 1
    # Leave at once rather than wait for the serve loop's poll and the
    # interpreter's teardown (moto's in-memory state is large).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
