"""A signature-checking proxy for the OSS and COS tests (signature_proxy.rs beside it).

Every request the broker sends is signed again with the vendor's own SDK (PyPI `oss2` for
OSS signatures V1 and V4, `cos-python-sdk-v5` for COS) from the same inputs: method, key,
query, headers and the signing time the request carries. A request whose signature
differs is answered 403 SignatureDoesNotMatch and printed as `MISMATCH ...`; one that
matches is printed as `verified ...` and forwarded to an S3 server (moto) path-style,
its `x-oss-*`/`x-cos-*` headers renamed `x-amz-*`, and the answer's renamed back.

Usage: signature_proxy.py STORE UPSTREAM_PORT ACCESS SECRET REGION [TOKEN]
with STORE one of oss-v1, oss-v4, cos. Listens on 127.0.0.1, a free port, and prints
`listening on PORT` once it accepts connections.
"""

import http.client
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock
from urllib.parse import parse_qsl, unquote, urlsplit

STORE, UPSTREAM, ACCESS, SECRET, REGION = sys.argv[1:6]
TOKEN = sys.argv[6] if len(sys.argv) > 6 else None
PREFIX = "x-cos-" if STORE == "cos" else "x-oss-"
# Headers that only carry the signature: not forwarded.
SIGNING_HEADERS = {"authorization", "date", "host", PREFIX + "date",
                   PREFIX + "content-sha256", PREFIX + "security-token"}
LOCK = threading.Lock()


def oss_expected(method, bucket, key, params, headers):
    """The Authorization the oss2 SDK computes for this request, or a reason."""
    import oss2
    from oss2.http import Request

    req = Request(method, "http://unused/", params=dict(params), headers=dict(headers))
    auth_header = headers.get("authorization", "")
    provider = oss2.credentials.StaticCredentialsProvider(ACCESS, SECRET, TOKEN)
    if STORE == "oss-v1":
        auth = oss2.ProviderAuth(provider)
        sig = auth._ProviderAuth__make_signature(req, bucket, key, provider.get_credentials())
        return "OSS {0}:{1}".format(ACCESS, sig)
    # V4: the date, scope and additional headers come from the request; the signature
    # is oss2's over them.
    date_time = headers.get("x-oss-date", "")
    fields = dict(part.strip().split("=", 1) for part in
                  auth_header[len("OSS4-HMAC-SHA256 "):].split(",") if "=" in part)
    additional = [h for h in fields.get("AdditionalHeaders", "").split(";") if h]
    req.region, req.product = REGION, "oss"
    auth = oss2.ProviderAuthV4(provider)
    sig = auth._ProviderAuthV4__make_signature(
        req, bucket, key, additional or None, provider.get_credentials(), date_time)
    scope = "{0}/{1}/{2}/oss/aliyun_v4_request".format(ACCESS, date_time[:8], REGION)
    expected = "OSS4-HMAC-SHA256 Credential={0}, AdditionalHeaders={1}, Signature={2}".format(
        scope, ";".join(additional), sig)
    return expected


def cos_expected(method, key, params, headers):
    """The Authorization cos-python-sdk-v5 computes over the headers and parameters the
    request says it signed, at the time it says."""
    from qcloud_cos import CosConfig
    from qcloud_cos import cos_auth

    fields = dict(p.split("=", 1) for p in headers.get("authorization", "").split("&") if "=" in p)
    signed = [h for h in fields.get("q-header-list", "").split(";") if h]
    unsigned = [h for h in headers if h.startswith("x-cos-") and h not in signed]
    if unsigned:
        return "x-cos- headers left out of the signature: {0}".format(unsigned)
    begin, end = (int(t) for t in fields.get("q-sign-time", "0;0").split(";"))
    conf = CosConfig(Region=REGION, SecretId=ACCESS, SecretKey=SECRET, Token=TOKEN)

    class Req:
        pass

    r = Req()
    r.method, r.url = method, "http://unused/"
    r.headers = {h: headers[h] for h in signed if h in headers}
    auth = cos_auth.CosS3Auth(conf, key=key, params=dict(params), expire=end - begin - 60,
                              sign_host="host" in signed)
    with mock.patch.object(cos_auth.time, "time", return_value=begin + 60):
        auth(r)
    return r.headers["Authorization"]


def normalize(auth):
    """OSS V4 lists its fields in any order: compare them as a set."""
    if auth.startswith("OSS4-HMAC-SHA256 "):
        return sorted(p.strip() for p in auth[len("OSS4-HMAC-SHA256 "):].split(","))
    return auth


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                chunk = self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    return data
                data += chunk
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if self.command != "HEAD":
            self.send_header("Content-Length", str(len(body)))
        elif not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", "0")
        try:
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The broker closed the connection first (a reader that had enough).
            self.close_connection = True

    def refuse(self, why):
        print("MISMATCH {0} {1}: {2}".format(self.command, self.path, why), flush=True)
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch"
                "</Code><Message>{0}</Message><RequestId>proxy</RequestId></Error>").format(
                    why.replace("&", "&amp;").replace("<", "&lt;")).encode()
        self.answer(403, [("Content-Type", "application/xml")], body)

    def handle_one(self):
        data = self.body()
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = headers.get("host", "").split(":")[0]
        bucket = host.split(".")[0] if "." in host else ""
        key = unquote(url.path[1:])
        params = parse_qsl(url.query, keep_blank_values=True)
        try:
            with LOCK:
                if STORE == "cos":
                    expected = cos_expected(self.command, unquote(url.path), params, headers)
                else:
                    expected = oss_expected(self.command, bucket, key, params, headers)
        except Exception as e:  # a request the SDK cannot sign is a mismatch too
            expected = "SDK failed: {0!r}".format(e)
        got = headers.get("authorization", "")
        if normalize(got) != normalize(expected):
            return self.refuse("sent {0!r}, the SDK computes {1!r}".format(got, expected))
        forward = {}
        for k, v in headers.items():
            if k in SIGNING_HEADERS or k in ("connection", "transfer-encoding", "expect"):
                continue
            if k == PREFIX + "copy-source":
                if STORE == "cos":
                    # Tencent documents the host form: <bucket>.<endpoint>/<key>.
                    src_host, _, src_key = v.partition("/")
                    if v.startswith("/") or not src_host.startswith(bucket + "."):
                        return self.refuse("copy source not in host form: " + v)
                    v = "/{0}/{1}".format(src_host.split(".")[0], src_key)
                    print("copy-source in host form", flush=True)
            if k.startswith(PREFIX):
                k = "x-amz-" + k[len(PREFIX):]
            forward[k] = v
        forward["content-length"] = str(len(data))
        # moto checks no signature but treats a request without one as anonymous.
        forward["authorization"] = ("AWS4-HMAC-SHA256 Credential=proxy/20200101/us-east-1/s3/"
                                    "aws4_request, SignedHeaders=host, Signature=0")
        target = "/" + bucket + url.path + ("?" + url.query if url.query else "")
        conn = http.client.HTTPConnection("127.0.0.1", int(UPSTREAM), timeout=120)
        conn.request(self.command, target, body=data, headers=forward)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        back = []
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in ("content-length", "transfer-encoding", "connection", "server", "date"):
                continue
            if lk.startswith("x-amz-"):
                k = PREFIX + lk[len("x-amz-"):]
            back.append((k, v))
        if self.command == "HEAD":
            back.append(("Content-Length", resp.getheader("content-length", "0")))
        print("verified {0} {1} -> {2}".format(self.command, self.path, resp.status), flush=True)
        self.answer(resp.status, back, body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("listening on {0}".format(server.server_address[1]), flush=True)
server.serve_forever()
