"""Starts moto's server (moto 5.2.5) for ecaudit's integration tests, with the additions that close
its gaps with the AWS APIs ecaudit reads. Each addition follows the AWS API reference and is listed
in tests/README.md; ecaudit itself never special-cases moto.

    python launcher.py PORT

prints "ready PORT" on standard output once the server accepts connections.
"""

import io
import json
import sys

import cbor2
from werkzeug.serving import make_server

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

import additions  # noqa: F401  (patches moto's models and responses on import)
import faults


# --- CloudWatch: Smithy RPC v2 CBOR -------------------------------------------------------------
#
# The current aws-sdk-cloudwatch speaks Smithy RPC v2 CBOR: POST
# /service/GraniteServiceVersion20100801/operation/<Op> with a CBOR body. Moto answers CloudWatch in
# the awsJson1_0 protocol only. This middleware decodes the CBOR request, forwards it to moto as
# JSON with `X-Amz-Target: GraniteServiceVersion20100801.<Op>`, and encodes moto's JSON answer as
# CBOR (timestamps as CBOR tag 1, header `smithy-protocol: rpc-v2-cbor`), as the RPC v2 CBOR
# protocol specification describes.

CBOR_PREFIX = "/service/GraniteServiceVersion20100801/operation/"

# Members of the CloudWatch shapes that are timestamps (epoch seconds in JSON, tag 1 in CBOR).
TIMESTAMP_MEMBERS = {
    "StateUpdatedTimestamp",
    "AlarmConfigurationUpdatedTimestamp",
    "StateTransitionedTimestamp",
    "Timestamp",
    "Timestamps",
    "StartTime",
    "EndTime",
    "StartDate",
    "EndDate",
    "LastUpdateDate",
}


def _from_cbor(value):
    """CBOR request → JSON-able: tagged timestamps become epoch seconds, bytes become base64."""
    if isinstance(value, dict):
        return {k: _from_cbor(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_cbor(v) for v in value]
    if hasattr(value, "timestamp") and callable(value.timestamp):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return value.value
    if isinstance(value, (bytes, bytearray)):
        import base64

        return base64.b64encode(value).decode()
    return value


def _to_cbor(value, key=None):
    """JSON answer → CBOR: timestamp members become tag 1."""
    if isinstance(value, dict):
        return {k: _to_cbor(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cbor(v, key) for v in value]
    if key in TIMESTAMP_MEMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return cbor2.CBORTag(1, float(value))
    return value


def _page_alarms(data, request):
    """Moto's DescribeAlarms ignores MaxRecords and never pages; AWS returns at most MaxRecords
    (default 50, at most 100) alarms per page with a NextToken. The token is the offset."""
    size = int(request.get("MaxRecords") or 50)
    start = int(request.get("NextToken") or 0)
    alarms = data.get("MetricAlarms", [])
    data["MetricAlarms"] = alarms[start : start + size]
    if start + size < len(alarms):
        data["NextToken"] = str(start + size)
    return data


class CborCloudWatch:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CBOR_PREFIX):
            return self.app(environ, start_response)
        operation = path[len(CBOR_PREFIX) :]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        payload = _from_cbor(cbor2.loads(raw)) if raw else {}
        body = json.dumps(payload).encode()
        forwarded = dict(environ)
        forwarded.update(
            {
                "PATH_INFO": "/",
                "REQUEST_METHOD": "POST",
                "CONTENT_TYPE": "application/x-amz-json-1.0",
                "HTTP_CONTENT_TYPE": "application/x-amz-json-1.0",
                "HTTP_X_AMZ_TARGET": f"GraniteServiceVersion20100801.{operation}",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }
        )
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda _: None

        answer = b"".join(self.app(forwarded, capture))
        try:
            data = json.loads(answer) if answer.strip() else {}
        except ValueError:
            data = {"__type": "InternalFailure", "message": answer.decode(errors="replace")}
        if operation == "DescribeAlarms" and captured.get("status", "").startswith("200"):
            data = _page_alarms(data, payload)
        out = cbor2.dumps(_to_cbor(data))
        headers = [
            (k, v)
            for k, v in captured.get("headers", [])
            if k.lower() not in ("content-type", "content-length", "x-amz-target")
        ]
        headers += [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(out))),
        ]
        start_response(captured.get("status", "500 Internal Server Error"), headers)
        return [out]


def main():
    port = int(sys.argv[1])
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", port, faults.Faults(CborCloudWatch(app)), threaded=True)
    print(f"ready {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
