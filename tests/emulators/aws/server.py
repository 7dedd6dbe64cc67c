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
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-stdin-watch", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [here, os.path.dirname(here)]
    import serving
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
    return serving.serve_until_stopped(server, args.host, watch_stdin=not args.no_stdin_watch)


if __name__ == "__main__":
    sys.exit(main())
