"""Failures AWS produces that moto does not, for the coverage tests, configured by environment:

- ECAUDIT_MOTO_DISABLED_REGIONS=eu-south-2,...: every request signed for one of these regions
  fails as AWS fails requests to an opt-in region the account has not enabled (HTTP 403,
  `InvalidClientTokenId`, "The security token included in the request is invalid").
- ECAUDIT_MOTO_DENY=ec2:DescribeSecurityGroups@222222222222,...: these actions of these accounts
  fail as an IAM policy that does not allow them makes them fail (HTTP 403, `AccessDenied`, or
  `UnauthorizedOperation` for EC2). For `sts:AssumeRole` the account is the role's: the role's
  trust policy refuses the caller.

The region comes from the request's SigV4 credential scope; the account from moto's mapping of
the access key (assumed-role keys map to the role's account).
"""

import json
import os
import re
from urllib.parse import parse_qs

import cbor2

_SCOPE = re.compile(r"Credential=(?P<key>[^/]+)/\d+/(?P<region>[^/]+)/(?P<service>[^/]+)/")
_SERVICES = {"monitoring": "cloudwatch", "elasticache": "elasticache", "ec2": "ec2", "sts": "sts", "organizations": "organizations"}


def _account_of(access_key):
    try:
        from moto.iam.models import get_account_id_from
    except ImportError:  # older layout
        return "123456789012"
    try:
        return get_account_id_from(access_key)
    except Exception:
        return "123456789012"


class Faults:
    def __init__(self, app):
        self.app = app
        self.disabled = {r for r in os.environ.get("ECAUDIT_MOTO_DISABLED_REGIONS", "").split(",") if r}
        self.denied = {d for d in os.environ.get("ECAUDIT_MOTO_DENY", "").split(",") if d}

    def __call__(self, environ, start_response):
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope or not (self.disabled or self.denied):
            return self.app(environ, start_response)
        service = _SERVICES.get(scope.group("service"), scope.group("service"))
        if scope.group("region") in self.disabled and service not in ("sts", "organizations"):
            return self._error(environ, start_response, service, "InvalidClientTokenId",
                               "The security token included in the request is invalid.")
        if self.denied:
            action = self._action(environ, service)
            account = _account_of(scope.group("key"))
            if service == "sts" and action == "AssumeRole":
                # The role's account: the one whose trust policy would refuse the caller.
                account = self._param(environ, "RoleArn").split(":")[4] if self._param(environ, "RoleArn") else account
            if action and f"{service}:{action}@{account}" in self.denied:
                code = "UnauthorizedOperation" if service == "ec2" else "AccessDenied"
                return self._error(environ, start_response, service, code,
                                   f"User is not authorized to perform: {service}:{action}")
        return self.app(environ, start_response)

    def _action(self, environ, service):
        path = environ.get("PATH_INFO", "")
        if "/operation/" in path:
            return path.rsplit("/", 1)[-1]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            return target.rsplit(".", 1)[-1]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        return parse_qs(body.decode(errors="replace")).get("Action", [None])[0]

    def _param(self, environ, name):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        import io

        environ["wsgi.input"] = io.BytesIO(body)
        return parse_qs(body.decode(errors="replace")).get(name, [""])[0]

    def _error(self, environ, start_response, service, code, message):
        if "/operation/" in environ.get("PATH_INFO", ""):
            body = cbor2.dumps({"__type": code, "message": message})
            headers = [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        elif environ.get("HTTP_X_AMZ_TARGET"):
            body = json.dumps({"__type": code, "message": message}).encode()
            headers = [("Content-Type", "application/x-amz-json-1.1")]
        elif service == "ec2":
            body = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>ecaudit-fault</RequestID></Response>"
            ).encode()
            headers = [("Content-Type", "text/xml")]
        else:
            body = (
                f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>'
                f"</Error><RequestId>ecaudit-fault</RequestId></ErrorResponse>"
            ).encode()
            headers = [("Content-Type", "text/xml")]
        headers.append(("Content-Length", str(len(body))))
        start_response("403 Forbidden", headers)
        return [body]
