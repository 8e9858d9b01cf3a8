#!/usr/bin/env python3
"""A synthetic Terraform plan for benches/plan.sh: N caches (default 100), each a replication
group with its own security group, parameter group and two CloudWatch alarms (5 resources a
cache), in one VPC with two subnets and a subnet group. Half the caches are created, half
updated (snapshot retention changed). Written in the format of `terraform show -json PLANFILE`
(format_version 1.2), to standard output."""
import json
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
ACC, REG = "111122223333", "eu-west-1"
P = "registry.terraform.io/hashicorp/aws"
TAGS = {"team": "checkout", "env": "prod"}

vpc = {"id": "vpc-0bench", "cidr_block": "10.30.0.0/16", "ipv6_cidr_block": "", "tags_all": TAGS}
subnets = [{"id": f"subnet-0bench{i}", "vpc_id": vpc["id"], "cidr_block": f"10.30.{i}.0/24",
            "availability_zone": f"{REG}{'ab'[i]}", "tags_all": TAGS} for i in range(2)]
subnet_group = {"name": "bench-subnets", "subnet_ids": [s["id"] for s in subnets], "vpc_id": vpc["id"], "tags_all": TAGS}

changes, config = [], []


def change(address, kind, name, actions, before, after, unknown=None, sensitive=None):
    changes.append({"address": address, "mode": "managed", "type": kind, "name": name, "provider_name": P,
                    "change": {"actions": actions, "before": before, "after": after,
                               "after_unknown": unknown or {}, "before_sensitive": {} if before else False,
                               "after_sensitive": sensitive or {}}})


def reference(*names):
    return {"references": list(names)}


change("aws_vpc.main", "aws_vpc", "main", ["no-op"], vpc, vpc)
for i, s in enumerate(subnets):
    change(f"aws_subnet.s{i}", "aws_subnet", f"s{i}", ["no-op"], s, s)
change("aws_elasticache_subnet_group.cache", "aws_elasticache_subnet_group", "cache", ["no-op"], subnet_group, subnet_group)

for i in range(N):
    rid = f"cache-{i:04d}"
    created = i % 2 == 0
    sg = {"id": f"sg-0bench{i:04d}", "name": rid, "vpc_id": vpc["id"], "tags_all": TAGS,
          "ingress": [{"cidr_blocks": ["10.30.0.0/16" if i % 10 else "0.0.0.0/0"], "description": "redis",
                       "from_port": 6379, "to_port": 6379, "protocol": "tcp", "ipv6_cidr_blocks": [],
                       "prefix_list_ids": [], "security_groups": [], "self": False}]}
    pg = {"name": f"{rid}-params", "family": "redis7", "tags_all": TAGS,
          "parameter": [{"name": "cluster-enabled", "value": "no"}]}
    rg = {"replication_group_id": rid, "description": rid, "engine": "redis", "engine_version": "7.1",
          "node_type": "cache.r7g.large", "num_cache_clusters": 2, "port": 6379, "cluster_mode": "disabled",
          "automatic_failover_enabled": True, "multi_az_enabled": True, "at_rest_encryption_enabled": "true",
          "kms_key_id": "", "transit_encryption_enabled": i % 7 != 0, "auth_token": "", "user_group_ids": [],
          "subnet_group_name": subnet_group["name"], "security_group_ids": [sg["id"]], "security_group_names": [],
          "parameter_group_name": pg["name"], "snapshot_retention_limit": 7, "snapshot_window": "03:00-04:00",
          "notification_topic_arn": "", "auto_minor_version_upgrade": "true", "log_delivery_configuration": [],
          "tags": None, "tags_all": TAGS}
    if created:
        change(f"aws_security_group.c{i}", "aws_security_group", f"c{i}", ["create"], None, dict(sg, id=None), {"id": True, "arn": True})
        change(f"aws_elasticache_parameter_group.c{i}", "aws_elasticache_parameter_group", f"c{i}", ["create"], None, pg, {"arn": True, "id": True})
        after = dict(rg, security_group_ids=None)
        change(f"aws_elasticache_replication_group.c{i}", "aws_elasticache_replication_group", f"c{i}", ["create"], None, after,
               {"arn": True, "id": True, "member_clusters": True, "security_group_ids": True, "primary_endpoint_address": True},
               {"auth_token": True})
    else:
        before = dict(rg, arn=f"arn:aws:elasticache:{REG}:{ACC}:replicationgroup:{rid}", id=rid,
                      member_clusters=[f"{rid}-001", f"{rid}-002"])
        after = dict(before, snapshot_retention_limit=0 if i % 4 == 1 else 14)
        change(f"aws_security_group.c{i}", "aws_security_group", f"c{i}", ["no-op"], sg, sg)
        change(f"aws_elasticache_parameter_group.c{i}", "aws_elasticache_parameter_group", f"c{i}", ["no-op"], pg, pg)
        change(f"aws_elasticache_replication_group.c{i}", "aws_elasticache_replication_group", f"c{i}", ["update"], before, after,
               None, {"auth_token": True})
    for node in (f"{rid}-001", f"{rid}-002"):
        alarm = {"alarm_name": f"{node}-cpu", "namespace": "AWS/ElastiCache", "metric_name": "EngineCPUUtilization",
                 "statistic": "Average", "comparison_operator": "GreaterThanThreshold", "threshold": 80,
                 "evaluation_periods": 3, "period": 300, "dimensions": {"CacheClusterId": node},
                 "actions_enabled": True, "alarm_actions": [], "metric_query": [], "tags_all": TAGS}
        key = node[-3:]
        change(f"aws_cloudwatch_metric_alarm.c{i}_{key}", "aws_cloudwatch_metric_alarm", f"c{i}_{key}",
               ["create"] if created else ["no-op"], None if created else alarm, alarm, {"arn": True} if created else None)
    config.append({"address": f"aws_elasticache_replication_group.c{i}", "mode": "managed",
                   "type": "aws_elasticache_replication_group", "name": f"c{i}", "provider_config_key": "aws",
                   "expressions": {"security_group_ids": reference(f"aws_security_group.c{i}.id", f"aws_security_group.c{i}"),
                                   "parameter_group_name": reference(f"aws_elasticache_parameter_group.c{i}.name",
                                                                     f"aws_elasticache_parameter_group.c{i}")}})

plan = {
    "format_version": "1.2", "terraform_version": "1.9.5",
    "planned_values": {"root_module": {"resources": [
        {"address": c["address"], "mode": "managed", "type": c["type"], "name": c["name"], "provider_name": P,
         "values": c["change"]["after"], "sensitive_values": {}} for c in changes]}},
    "resource_changes": changes,
    "prior_state": {"format_version": "1.0", "terraform_version": "1.9.5", "values": {"root_module": {"resources": [
        {"address": c["address"], "mode": "managed", "type": c["type"], "name": c["name"], "provider_name": P,
         "values": c["change"]["before"], "sensitive_values": {}} for c in changes if c["change"]["before"]]}}},
    "configuration": {"provider_config": {"aws": {"name": "aws", "full_name": P, "expressions": {"region": {"constant_value": REG}}}},
                      "root_module": {"resources": config}},
    "timestamp": "2026-12-01T09:00:00Z", "applyable": True, "complete": True, "errored": False,
}
json.dump(plan, sys.stdout)
