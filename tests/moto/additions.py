"""Additions to moto 5.2.5 that make its ElastiCache answers look like AWS's, following the AWS API
reference (https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/). Imported by
launcher.py before the server starts. Every addition is listed in tests/README.md.

Moto's XML serializer reads a model's attributes by the snake_case of the AWS shape's member
names, so a property named like the member makes the member appear exactly as AWS shapes it.
"""

from moto.elasticache.models import CacheCluster


# DescribeCacheClusters: moto omits SecurityGroups, CacheParameterGroup, NotificationConfiguration
# and CacheNodes, which AWS returns for every node-based cluster (CacheNodes with
# ShowCacheNodeInfo=true).


def _security_groups(self):
    # SecurityGroupMembership: {SecurityGroupId, Status}
    return [{"SecurityGroupId": g, "Status": "active"} for g in self.security_group_ids]


def _cache_parameter_group(self):
    # CacheParameterGroupStatus: {CacheParameterGroupName, ParameterApplyStatus, CacheNodeIdsToReboot}
    name = self.cache_parameter_group_name
    if not name:
        version = (self.engine_version or "7.1").split(".")
        major = version[0]
        if self.engine == "memcached":
            name = f"default.memcached{major}.{version[1] if len(version) > 1 else '6'}"
        elif self.engine == "valkey":
            name = f"default.valkey{major}"
        elif major == "6":
            name = "default.redis6.x"
        elif int(major) < 6:
            name = f"default.redis{major}.{version[1] if len(version) > 1 else '0'}"
        else:
            name = f"default.redis{major}"
    return {"CacheParameterGroupName": name, "ParameterApplyStatus": "in-sync", "CacheNodeIdsToReboot": []}


def _notification_configuration(self):
    # NotificationConfiguration: {TopicArn, TopicStatus}
    if not self.notification_topic_arn:
        return None
    return {"TopicArn": self.notification_topic_arn, "TopicStatus": "active"}


def _cache_nodes(self):
    # CacheNode: {CacheNodeId, CacheNodeStatus, CacheNodeCreateTime, Endpoint, ParameterGroupStatus,
    # CustomerAvailabilityZone}; a Redis OSS/Valkey cluster has node 0001, Memcached 0001..N.
    azs = self.preferred_availability_zones or []
    nodes = []
    for i in range(self.num_cache_nodes or 1):
        az = azs[i] if i < len(azs) else (self.preferred_availability_zone or f"{self._region}a")
        nodes.append(
            {
                "CacheNodeId": f"{i + 1:04d}",
                "CacheNodeStatus": "available",
                "CacheNodeCreateTime": self.cache_cluster_create_time,
                "Endpoint": {
                    "Address": f"{self.cache_cluster_id}.{i + 1:04d}.cache.amazonaws.com",
                    "Port": self.port,
                },
                "ParameterGroupStatus": "in-sync",
                "CustomerAvailabilityZone": az,
            }
        )
    return nodes


_original_init = CacheCluster.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self._region = kwargs.get("region_name") or (args[1] if len(args) > 1 else "us-east-1")
    # moto sets ReplicationGroupId (and a node count) only for engine "redis"; AWS sets them for
    # Valkey too.
    if self.engine == "valkey":
        self.replication_group_id = kwargs.get("replication_group_id")
        self.num_cache_nodes = 1
        self.snapshot_window = kwargs.get("snapshot_window")
    if not self.preferred_availability_zone:
        azs = self.preferred_availability_zones or []
        self.preferred_availability_zone = azs[0] if azs else f"{self._region}a"


CacheCluster.__init__ = _init
CacheCluster.security_groups = property(_security_groups)
CacheCluster.cache_parameter_group = property(_cache_parameter_group)
CacheCluster.notification_configuration = property(_notification_configuration)
CacheCluster.cache_nodes = property(_cache_nodes)


# Memcached listens on 11211 (moto defaults every engine to 6379).
_init_before_port = CacheCluster.__init__


def _init_port(self, *args, **kwargs):
    _init_before_port(self, *args, **kwargs)
    if self.engine == "memcached" and not kwargs.get("port"):
        self.port = 11211


CacheCluster.__init__ = _init_port


# --- Automatic snapshots --------------------------------------------------------------------------
#
# AWS names automatic snapshots `automatic.<id>-YYYY-MM-DD-HH-MM` and lists them with
# SnapshotSource=system; each carries NodeSnapshots with a SnapshotCreateTime. Moto creates only
# manual snapshots and omits NodeSnapshots. A snapshot created with such a name is made an
# automatic one, created at the time its name says.

import datetime
import re

from moto.elasticache.models import Snapshot

_AUTOMATIC = re.compile(r"^automatic\.(?P<id>.+)-(?P<t>\d{4}-\d{2}-\d{2}-\d{2}-\d{2})$")
_snapshot_init = Snapshot.__init__


def _snapshot_init_automatic(self, *args, **kwargs):
    _snapshot_init(self, *args, **kwargs)
    self._created = datetime.datetime.now(datetime.timezone.utc)
    match = _AUTOMATIC.match(self.snapshot_name or "")
    if match:
        # moto filters SnapshotSource=system by its own value "automated".
        self.snapshot_source = "automated"
        self._created = datetime.datetime.strptime(match.group("t"), "%Y-%m-%d-%H-%M").replace(
            tzinfo=datetime.timezone.utc
        )
    self.snapshot_status = self.snapshot_status or "available"


def _node_snapshots(self):
    return [
        {
            "CacheClusterId": self.cache_cluster_id,
            "NodeGroupId": "0001",
            "CacheNodeId": "0001",
            "SnapshotCreateTime": self._created,
        }
    ]


Snapshot.__init__ = _snapshot_init_automatic
Snapshot.node_snapshots = property(_node_snapshots)


# --- Operations moto does not implement -----------------------------------------------------------
#
# Serverless caches and their snapshots, cache parameter groups and parameters, and Global
# Datastores: moto answers these with an HTML 500. They are added here, shaped as the AWS API
# reference describes, storing their state beside moto's backend of each account and region.

from moto.core.responses import ActionResult
from moto.elasticache.exceptions import ElastiCacheException
from moto.elasticache.models import ElastiCacheBackend
from moto.elasticache.responses import ElastiCacheResponse
from moto.moto_api._internal import mock_random


class _NotFound(ElastiCacheException):
    code = 404

    def __init__(self, code, message):
        super().__init__(code, message)


def _state(backend):
    if not hasattr(backend, "_ecaudit"):
        backend._ecaudit = {
            "serverless": {},
            "serverless_snapshots": {},
            "parameter_groups": {},
            "global_groups": {},
        }
    return backend._ecaudit


def _page(items, max_records, marker):
    """Marker/NextToken pagination: the marker is the index of the next item."""
    start = int(marker) if marker else 0
    size = int(max_records) if max_records else 100
    page = items[start : start + size]
    next_marker = str(start + size) if start + size < len(items) else None
    return page, next_marker


# Families AWS provides default parameter groups for, and the defaults' names.
_DEFAULT_GROUPS = {
    "redis5.0": ["default.redis5.0", "default.redis5.0.cluster.on"],
    "redis6.x": ["default.redis6.x", "default.redis6.x.cluster.on"],
    "redis7": ["default.redis7", "default.redis7.cluster.on"],
    "valkey7": ["default.valkey7", "default.valkey7.cluster.on"],
    "valkey8": ["default.valkey8", "default.valkey8.cluster.on"],
    "memcached1.6": ["default.memcached1.6"],
}


def _parameter_groups(backend):
    groups = _state(backend)["parameter_groups"]
    if not groups:
        for family, names in _DEFAULT_GROUPS.items():
            for name in names:
                params = {}
                if not family.startswith("memcached"):
                    params["cluster-enabled"] = "yes" if name.endswith(".cluster.on") else "no"
                groups[name] = {"family": family, "params": params, "description": f"Default parameter group for {family}"}
    return groups


def _group_shape(backend, name, group):
    return {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": group["family"],
        "Description": group["description"],
        "IsGlobal": False,
        "ARN": f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:parametergroup:{name}",
    }


def create_cache_parameter_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    family = self._get_param("CacheParameterGroupFamily")
    groups = _parameter_groups(backend)
    params = {} if family.startswith("memcached") else {"cluster-enabled": "no"}
    groups[name] = {"family": family, "params": params, "description": self._get_param("Description") or ""}
    return ActionResult({"CacheParameterGroup": _group_shape(backend, name, groups[name])})


def describe_cache_parameter_groups(self):
    backend = self.elasticache_backend
    groups = _parameter_groups(backend)
    wanted = self._get_param("CacheParameterGroupName")
    items = [_group_shape(backend, n, g) for n, g in sorted(groups.items()) if not wanted or n == wanted]
    if wanted and not items:
        raise _NotFound("CacheParameterGroupNotFound", f"CacheParameterGroup {wanted} not found.")
    page, marker = _page(items, self._get_param("MaxRecords"), self._get_param("Marker"))
    return ActionResult({"CacheParameterGroups": page, "Marker": marker})


def modify_cache_parameter_group(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    groups = _parameter_groups(backend)
    if name not in groups:
        raise _NotFound("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.")
    for p in self._get_param("ParameterNameValues", []):
        groups[name]["params"][p["ParameterName"]] = p["ParameterValue"]
    return ActionResult({"CacheParameterGroupName": name})


def describe_cache_parameters(self):
    backend = self.elasticache_backend
    name = self._get_param("CacheParameterGroupName")
    groups = _parameter_groups(backend)
    if name not in groups:
        raise _NotFound("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.")
    # A real group has ~150 parameters; a few stand-ins make pagination real.
    params = dict(groups[name]["params"])
    for i in range(1, 120):
        params.setdefault(f"ecaudit-filler-{i:03d}", "0")
    items = [
        {"ParameterName": k, "ParameterValue": v, "Source": "user", "DataType": "string", "IsModifiable": True}
        for k, v in sorted(params.items())
    ]
    page, marker = _page(items, self._get_param("MaxRecords"), self._get_param("Marker"))
    return ActionResult({"Parameters": page, "Marker": marker, "CacheNodeTypeSpecificParameters": []})


def _serverless_shape(backend, cache):
    return cache


def create_serverless_cache(self):
    backend = self.elasticache_backend
    name = self._get_param("ServerlessCacheName")
    engine = self._get_param("Engine")
    major = self._get_param("MajorEngineVersion") or ("8" if engine == "valkey" else "7")
    full = {"valkey": {"7": "7.2", "8": "8.0"}, "redis": {"7": "7.1"}, "memcached": {"1.6": "1.6.22"}}
    cache = {
        "ServerlessCacheName": name,
        "Description": self._get_param("Description") or "",
        "CreateTime": datetime.datetime.now(datetime.timezone.utc),
        "Status": "available",
        "Engine": engine,
        "MajorEngineVersion": major,
        "FullEngineVersion": full.get(engine, {}).get(major, major),
        "KmsKeyId": self._get_param("KmsKeyId"),
        "SecurityGroupIds": self._get_param("SecurityGroupIds", []),
        "Endpoint": {"Address": f"{name}-{mock_random.get_random_hex(6)}.serverless.cache.amazonaws.com", "Port": 6379 if engine != "memcached" else 11211},
        "ReaderEndpoint": {"Address": f"{name}-ro.serverless.cache.amazonaws.com", "Port": 6380},
        "ARN": f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:serverlesscache:{name}",
        "UserGroupId": self._get_param("UserGroupId"),
        "SubnetIds": self._get_param("SubnetIds", []),
        "SnapshotRetentionLimit": self._get_int_param("SnapshotRetentionLimit") or 0,
        "DailySnapshotTime": self._get_param("DailySnapshotTime") or "04:00",
    }
    _state(backend)["serverless"][name] = cache
    tags = self._get_param("Tags", [])
    if tags:
        backend.tagging_service.tag_resource(cache["ARN"], tags)
    return ActionResult({"ServerlessCache": cache})


def describe_serverless_caches(self):
    backend = self.elasticache_backend
    caches = _state(backend)["serverless"]
    wanted = self._get_param("ServerlessCacheName")
    items = [c for n, c in sorted(caches.items()) if not wanted or n == wanted]
    if wanted and not items:
        raise _NotFound("ServerlessCacheNotFoundFault", f"ServerlessCache {wanted} not found.")
    page, token = _page(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"ServerlessCaches": page, "NextToken": token})


def delete_serverless_cache(self):
    backend = self.elasticache_backend
    name = self._get_param("ServerlessCacheName")
    cache = _state(backend)["serverless"].pop(name, None)
    if cache is None:
        raise _NotFound("ServerlessCacheNotFoundFault", f"ServerlessCache {name} not found.")
    cache = dict(cache, Status="deleting")
    return ActionResult({"ServerlessCache": cache})


def create_serverless_cache_snapshot(self):
    """Snapshots named `automatic.<cache>-YYYY-MM-DD-HH-MM` are automatic ones of that time."""
    backend = self.elasticache_backend
    name = self._get_param("ServerlessCacheSnapshotName")
    cache_name = self._get_param("ServerlessCacheName")
    cache = _state(backend)["serverless"].get(cache_name)
    if cache is None:
        raise _NotFound("ServerlessCacheNotFoundFault", f"ServerlessCache {cache_name} not found.")
    created = datetime.datetime.now(datetime.timezone.utc)
    snapshot_type = "manual"
    match = _AUTOMATIC.match(name)
    if match:
        snapshot_type = "automated"
        created = datetime.datetime.strptime(match.group("t"), "%Y-%m-%d-%H-%M").replace(tzinfo=datetime.timezone.utc)
    snapshot = {
        "ServerlessCacheSnapshotName": name,
        "ARN": f"arn:aws:elasticache:{backend.region_name}:{backend.account_id}:serverlesscachesnapshot:{name}",
        "SnapshotType": snapshot_type,
        "Status": "available",
        "CreateTime": created,
        "ServerlessCacheConfiguration": {
            "ServerlessCacheName": cache_name,
            "Engine": cache["Engine"],
            "MajorEngineVersion": cache["MajorEngineVersion"],
        },
    }
    _state(backend)["serverless_snapshots"][name] = snapshot
    return ActionResult({"ServerlessCacheSnapshot": snapshot})


def describe_serverless_cache_snapshots(self):
    backend = self.elasticache_backend
    wanted_type = self._get_param("SnapshotType")
    wanted_cache = self._get_param("ServerlessCacheName")
    items = [
        s
        for _, s in sorted(_state(backend)["serverless_snapshots"].items())
        if (not wanted_type or s["SnapshotType"] == wanted_type)
        and (not wanted_cache or s["ServerlessCacheConfiguration"]["ServerlessCacheName"] == wanted_cache)
    ]
    page, token = _page(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"ServerlessCacheSnapshots": page, "NextToken": token})


def create_global_replication_group(self):
    """The global group's members are the primary named here; secondaries join with
    CreateReplicationGroup(GlobalReplicationGroupId=...), recorded by the patch below."""
    backend = self.elasticache_backend
    suffix = self._get_param("GlobalReplicationGroupIdSuffix")
    primary = self._get_param("PrimaryReplicationGroupId")
    rg = backend.replication_groups.get(primary)
    group_id = f"ldgnf-{suffix}"
    group = {
        "GlobalReplicationGroupId": group_id,
        "GlobalReplicationGroupDescription": self._get_param("GlobalReplicationGroupDescription") or "",
        "Status": "available",
        "Engine": getattr(rg, "engine", "redis"),
        "Members": [
            {
                "ReplicationGroupId": primary,
                "ReplicationGroupRegion": backend.region_name,
                "Role": "PRIMARY",
                "AutomaticFailover": "enabled",
                "Status": "associated",
            }
        ],
        "ClusterEnabled": False,
        "AuthTokenEnabled": bool(getattr(rg, "auth_token_enabled", False)),
        "TransitEncryptionEnabled": bool(getattr(rg, "transit_encryption_enabled", False)),
        "AtRestEncryptionEnabled": bool(getattr(rg, "at_rest_encryption_enabled", False)),
        "ARN": f"arn:aws:elasticache::{backend.account_id}:globalreplicationgroup:{group_id}",
    }
    _GLOBAL_GROUPS.setdefault(backend.account_id, {})[group_id] = group
    return ActionResult({"GlobalReplicationGroup": group})


# Global Datastores span regions: one registry per account.
_GLOBAL_GROUPS = {}


def describe_global_replication_groups(self):
    backend = self.elasticache_backend
    groups = list(_GLOBAL_GROUPS.get(backend.account_id, {}).values())
    show = self._get_bool_param("ShowMemberInfo")
    items = [g if show else {k: v for k, v in g.items() if k != "Members"} for g in groups]
    page, marker = _page(items, self._get_param("MaxRecords"), self._get_param("Marker"))
    return ActionResult({"GlobalReplicationGroups": page, "Marker": marker})


_original_create_rg = ElastiCacheResponse.create_replication_group


def _create_replication_group(self):
    """A replication group created with GlobalReplicationGroupId joins that group as a secondary."""
    result = _original_create_rg(self)
    global_id = self._get_param("GlobalReplicationGroupId")
    if global_id:
        backend = self.elasticache_backend
        group = _GLOBAL_GROUPS.get(backend.account_id, {}).get(global_id)
        if group is not None:
            group["Members"].append(
                {
                    "ReplicationGroupId": self._get_param("ReplicationGroupId"),
                    "ReplicationGroupRegion": backend.region_name,
                    "Role": "SECONDARY",
                    "AutomaticFailover": "enabled",
                    "Status": "associated",
                }
            )
    return result


for _name, _fn in [
    ("create_cache_parameter_group", create_cache_parameter_group),
    ("describe_cache_parameter_groups", describe_cache_parameter_groups),
    ("modify_cache_parameter_group", modify_cache_parameter_group),
    ("describe_cache_parameters", describe_cache_parameters),
    ("create_serverless_cache", create_serverless_cache),
    ("describe_serverless_caches", describe_serverless_caches),
    ("delete_serverless_cache", delete_serverless_cache),
    ("create_serverless_cache_snapshot", create_serverless_cache_snapshot),
    ("describe_serverless_cache_snapshots", describe_serverless_cache_snapshots),
    ("create_global_replication_group", create_global_replication_group),
    ("describe_global_replication_groups", describe_global_replication_groups),
    ("create_replication_group", _create_replication_group),
]:
    setattr(ElastiCacheResponse, _name, _fn)


# ListTagsForResource: moto's ARN check rejects serverless caches, which AWS tags like any other
# ElastiCache resource.
_list_tags = ElastiCacheBackend.list_tags_for_resource


def _list_tags_for_resource(self, arn):
    if ":serverlesscache:" in arn:
        return self.tagging_service.list_tags_for_resource(arn)
    return _list_tags(self, arn)


ElastiCacheBackend.list_tags_for_resource = _list_tags_for_resource


# Resource Groups Tagging API (GetResources): moto lists ElastiCache resources under its own type
# names (`elasticache:replication-group`, `elasticache:cache_clusters`), untagged ones included,
# and without serverless caches. AWS types resources after their ARN (`elasticache:replicationgroup`,
# `elasticache:cluster`, `elasticache:serverlesscache`) and lists tagged (or formerly tagged) ones.

from moto.core.resource_tagging import TaggedResource

_iter_tagged = ElastiCacheBackend.iter_tagged_resources


def _iter_tagged_resources(self):
    arns = [r.arn for r in _iter_tagged(self)]
    arns += [c["ARN"] for c in _state(self)["serverless"].values()]
    for arn in arns:
        tags = self.tagging_service.get_tag_dict_for_resource(arn)
        if not tags:
            continue
        yield TaggedResource(arn=arn, tags=tags, resource_type=f"elasticache:{arn.split(':')[5]}", extra={})


ElastiCacheBackend.iter_tagged_resources = _iter_tagged_resources


# --- Security Hub ---------------------------------------------------------------------------------
#
# GetFindings: moto ignores Filters and returns every finding of the account and region. AWS
# applies them (API reference, AwsSecurityFindingFilters and StringFilter): the attributes are
# ANDed; an attribute's EQUALS and PREFIX filters are ORed, its NOT_EQUALS and PREFIX_NOT_EQUALS
# filters ANDed. The attributes ecaudit filters on are emulated; any other is refused, so a test
# cannot pass on a filter that was silently ignored. Pages hold MaxResults (1..100, default 100)
# findings; the NextToken is the offset.
#
# BatchImportFindings: AWS refuses, as a FailedFindings entry (not an exception), a finding whose
# AwsAccountId or ProductArn names another account than the caller's ("the calling account must
# match AwsAccountId" for a product's default ARN). Moto imports it; here it is refused.
#
# ECAUDIT_MOTO_SECURITYHUB_REFUSE=flaky:1,broken:always (a fault for the retry tests, like
# faults.py): a finding whose first resource's Id contains `flaky` is refused the first time it is
# imported, one whose resource contains `broken` every time, with ErrorCode InternalException.

import json as _json
import os as _os

from moto.securityhub.exceptions import InvalidInputException as _ShInvalidInput
from moto.securityhub.responses import SecurityHubResponse

_SH_ATTRIBUTES = {
    "Id": lambda f: f.get("Id"),
    "ProductArn": lambda f: f.get("ProductArn"),
    "GeneratorId": lambda f: f.get("GeneratorId"),
    "AwsAccountId": lambda f: f.get("AwsAccountId"),
    "Region": lambda f: f.get("Region"),
    "RecordState": lambda f: f.get("RecordState", "ACTIVE"),
    "ComplianceStatus": lambda f: (f.get("Compliance") or {}).get("Status"),
}


def _sh_matches(finding, filters):
    for attribute, conditions in (filters or {}).items():
        if attribute not in _SH_ATTRIBUTES:
            raise _ShInvalidInput(op="GetFindings", msg=f"filter {attribute} is not emulated (tests/moto/additions.py)")
        value = _SH_ATTRIBUTES[attribute](finding)
        positive = []
        for c in conditions:
            wanted, comparison = c.get("Value"), c.get("Comparison")
            if comparison == "EQUALS":
                positive.append(value == wanted)
            elif comparison == "PREFIX":
                positive.append(value is not None and value.startswith(wanted))
            elif comparison == "NOT_EQUALS":
                if value == wanted:
                    return False
            elif comparison == "PREFIX_NOT_EQUALS":
                if value is not None and value.startswith(wanted):
                    return False
            else:
                raise _ShInvalidInput(op="GetFindings", msg=f"comparison {comparison} is not emulated")
        if positive and not any(positive):
            return False
    return True


def _sh_get_findings(self):
    backend = self.securityhub_backend
    filters = self._get_param("Filters") or {}
    size = self._get_param("MaxResults")
    size = int(size) if size is not None else 100
    if size < 1 or size > 100:
        raise _ShInvalidInput(op="GetFindings", msg="MaxResults must be a number between 1 and 100")
    start = int(self._get_param("NextToken") or 0)
    matching = [f.as_dict() for f in backend.findings if _sh_matches(f.as_dict(), filters)]
    page = matching[start : start + size]
    response = {"Findings": page}
    if start + size < len(matching):
        response["NextToken"] = str(start + size)
    return _json.dumps(response)


_SH_REFUSED_SO_FAR = {}


def _sh_refusal(finding, account):
    """Why this finding is refused, or None."""
    if finding.get("AwsAccountId") != account:
        return ("AccessDeniedException", f"AwsAccountId {finding.get('AwsAccountId')} is not the calling account {account}")
    product = finding.get("ProductArn") or ""
    parts = product.split(":")
    if len(parts) < 6 or parts[4] != account:
        return ("AccessDeniedException", f"ProductArn {product} is not a product of the calling account {account}")
    resources = finding.get("Resources") or [{}]
    resource = resources[0].get("Id", "")
    for rule in filter(None, _os.environ.get("ECAUDIT_MOTO_SECURITYHUB_REFUSE", "").split(",")):
        needle, _, times = rule.partition(":")
        if needle and needle in resource:
            key = (finding.get("Id"), needle)
            _SH_REFUSED_SO_FAR[key] = _SH_REFUSED_SO_FAR.get(key, 0) + 1
            if times == "always" or _SH_REFUSED_SO_FAR[key] <= int(times or 1):
                return ("InternalException", "emulated refusal (ECAUDIT_MOTO_SECURITYHUB_REFUSE)")
    return None


def _sh_batch_import_findings(self):
    body = _json.loads(self.body.decode("utf-8") if isinstance(self.body, bytes) else self.body)
    findings = body.get("Findings", [])
    if len(findings) > 100:
        raise _ShInvalidInput(op="BatchImportFindings", msg="at most 100 findings per request")
    backend = self.securityhub_backend
    accepted, failed = [], []
    for finding in findings:
        refusal = _sh_refusal(finding, self.current_account)
        if refusal:
            failed.append({"Id": finding.get("Id", ""), "ErrorCode": refusal[0], "ErrorMessage": refusal[1]})
        else:
            accepted.append(finding)
    failed_count, success_count, moto_failed = backend.batch_import_findings(findings=accepted)
    failed += [
        {"Id": f.get("Id"), "ErrorCode": f.get("ErrorCode"), "ErrorMessage": f.get("ErrorMessage")}
        for f in moto_failed
    ]
    return _json.dumps({"FailedCount": len(failed), "FailedFindings": failed, "SuccessCount": success_count})


SecurityHubResponse.get_findings = _sh_get_findings
SecurityHubResponse.batch_import_findings = _sh_batch_import_findings
