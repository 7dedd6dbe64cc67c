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
    import logging

    import serving
    import waitress

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    import extension

    extension.apply()
    app = extension.wrap_app(DomainDispatcherApplication(create_backend_app))
    if args.verbose:
        app = _logging_requests(app)
    else:
        # Waitress warns when requests queue for a worker; under a bench's
        # load that is expected, not news.
        logging.getLogger("waitress").setLevel(logging.ERROR)
    # HTTP/1.1 keep-alive as AWS's endpoints serve it, so clients pay for a
    # TCP connection once, not per call. Enough worker threads for
    # Terraform's parallelism plus calls the extension holds back on purpose.
    server = waitress.create_server(
        app,
        host=args.host,
        port=args.port,
        threads=32,
        connection_limit=1000,
        channel_timeout=300,
        asyncore_use_poll=True,
        ident="moto",
    )
    return serving.run_until_stopped(
        server.run, server.effective_port, args.host, watch_stdin=not args.no_stdin_watch
    )


def _logging_requests(app):
    """Wraps a WSGI app to print each request's method, path and status."""

    def logged(environ, start_response):
        def start(status, headers, exc_info=None):
            print(f'{environ["REQUEST_METHOD"]} {environ.get("PATH_INFO", "")} {status}', file=sys.stderr)
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return logged

if __name__ == "__main__":
    sys.exit(main())
