"""A stand-in reverse proxy: serves PREFIX/... from the upstream gridmap at /..., as nginx or a
cloud load balancer would, adding X-Forwarded-Proto (its own scheme), X-Forwarded-Host (the Host
the client asked for) and X-Forwarded-Prefix. Given a certificate and key it terminates TLS
(https), as such a proxy does, and talks plain HTTP to gridmap.

usage: proxy.py UPSTREAM_URL PREFIX LOG_FILE [CERT_FILE KEY_FILE]
Prints the port it listens on (127.0.0.1), then serves until killed. Appends each forwarded
request (path and query as received) to LOG_FILE.
"""

import http.client
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "host", "content-length"}


def handler(upstream, scheme, prefix, log):
    up = urlsplit(upstream)

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            if not (self.path == prefix or self.path.startswith(prefix + "/")
                    or self.path.startswith(prefix + "?")):
                self.send_error(404, f"only {prefix}/ is proxied")
                return
            with open(log, "a") as f:
                print(self.path, file=f, flush=True)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-Proto"] = scheme
            headers["X-Forwarded-Host"] = self.headers.get("Host", "")
            headers["X-Forwarded-Prefix"] = prefix
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            conn.request(self.command, self.path[len(prefix):] or "/", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status)
            for k, v in response.getheaders():
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            conn.close()

        do_GET = do_HEAD = do_PUT = do_DELETE = forward

    return Proxy


def main(upstream, prefix, log, cert=None, key=None):
    scheme = "https" if cert else "http"
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(upstream, scheme, prefix, log))
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:6])
