"""Start the AWS emulator: moto's server app plus the project's extension.

    python server.py [--port 0] [--host 127.0.0.1]

Prints exactly one line ``READY http://127.0.0.1:<port>`` on stdout once the
socket is listening, then serves until SIGTERM/SIGINT, or until its standard
input reaches end of file when stdin is a pipe (so a test harness that dies
never leaves it running). Pass --no-stdin-watch to ignore stdin.
"""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import threading


def _stdin_is_watchable() -> bool:
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    # A pipe or socket closes when the parent dies; /dev/null or a TTY does not
    # tell us anything useful, so only those are watched.
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-stdin-watch", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    import extension

    extension.apply()
    app = extension.wrap_app(DomainDispatcherApplication(create_backend_app))
    handler = MotoRequestHandler
    if not args.verbose:

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *_args: object, **_kwargs: object) -> None:
                pass

        handler = QuietHandler
    server = make_server(args.host, args.port, app, threaded=True, request_handler=handler)
    # Keep-alive connections of clients must not hold up shutdown.
    server.daemon_threads = True
    server.block_on_close = False
    port = server.server_address[1]

    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if not args.no_stdin_watch and _stdin_is_watchable():

        def watch_stdin() -> None:
            try:
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            except OSError:
                pass
            stop.set()

        threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    serving = threading.Thread(target=server.serve_forever, name="serve", daemon=True)
    serving.start()
    host = "127.0.0.1" if args.host in ("127.0.0.1", "0.0.0.0", "localhost") else args.host
    sys.stdout.write(f"READY http://{host}:{port}\n")
    sys.stdout.flush()

    while not stop.wait(0.1):
        if not serving.is_alive():
            return 1
    # Nothing to save: leave at once rather than wait for the serve loop's poll
    # and the interpreter's teardown of moto's large in-memory state.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
