#!/usr/bin/env python3
"""Serves a directory on loopback, slowly: every response body is sent in 16 KiB pieces with
a pause between them, so progress bars can be watched (and recorded) on a terminal.

Usage: scripts/slow-mirror.py DIR [--port N] [--rate BYTES_PER_SECOND]
"""
import argparse
import functools
import http.server
import time


class SlowHandler(http.server.SimpleHTTPRequestHandler):
    rate = 512 * 1024

    def copyfile(self, source, outputfile):
        while True:
            chunk = source.read(16 * 1024)
            if not chunk:
                break
            outputfile.write(chunk)
            time.sleep(len(chunk) / self.rate)

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--rate", type=int, default=512 * 1024)
    args = parser.parse_args()
    SlowHandler.rate = args.rate
    handler = functools.partial(SlowHandler, directory=args.directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
