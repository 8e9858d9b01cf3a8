# A small ElastiCache configuration, and the pull request that changes it: the cache security
# group is opened to the internet, the orders cache keeps no snapshots, and a new sessions cache
# is created without encryption in transit. plan.json is `terraform show -json` of its plan.

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
  default_tags {
    tags = {
      team = "checkout"
      env  = "prod"
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block = "10.20.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.20.1.0/24"
  availability_zone = "eu-west-1a"
}

resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.20.2.0/24"
  availability_zone = "eu-west-1b"
}

resource "aws_elasticache_subnet_group" "cache" {
  name       = "cache-subnets"
  subnet_ids = [aws_subnet.a.id, aws_subnet.b.id]
}

resource "aws_security_group" "cache" {
  name   = "cache"
  vpc_id = aws_vpc.main.id

  ingress {
    description = "Redis from anywhere (the mistake this pull request makes)"
    from_port   = 6379
    to_port     = 6379
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_elasticache_replication_group" "orders" {
  replication_group_id       = "orders-cache"
  description                = "orders"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = "cache.r7g.large"
  num_cache_clusters         = 2
  port                       = 6379
  automatic_failover_enabled = true
  multi_az_enabled           = true
  at_rest_encryption_enabled = true
  transit_encryption_enabled = true
  auth_token                 = var.orders_auth_token
  subnet_group_name          = aws_elasticache_subnet_group.cache.name
  security_group_ids         = [aws_security_group.cache.id]
  parameter_group_name       = "default.redis7"
  snapshot_retention_limit   = 0
}

resource "aws_elasticache_replication_group" "sessions" {
  replication_group_id       = "sessions-cache"
  description                = "sessions"
  engine                     = "valkey"
  engine_version             = "8.0"
  node_type                  = "cache.t4g.medium"
  num_cache_clusters         = 2
  port                       = 6379
  automatic_failover_enabled = true
  multi_az_enabled           = true
  at_rest_encryption_enabled = true
  transit_encryption_enabled = false
  subnet_group_name          = aws_elasticache_subnet_group.cache.name
  security_group_ids         = [aws_security_group.cache.id]
  parameter_group_name       = "default.valkey8"
  snapshot_retention_limit   = 7
}

resource "aws_cloudwatch_metric_alarm" "orders_cpu" {
  for_each            = toset(["orders-cache-001", "orders-cache-002"])
  alarm_name          = "${each.key}-engine-cpu"
  namespace           = "AWS/ElastiCache"
  metric_name         = "EngineCPUUtilization"
  statistic           = "Average"
  comparison_operator = "GreaterThanThreshold"
  threshold           = 80
  evaluation_periods  = 3
  period              = 300
  dimensions = {
    CacheClusterId = each.key
  }
}

variable "orders_auth_token" {
  type      = string
  sensitive = true
}
