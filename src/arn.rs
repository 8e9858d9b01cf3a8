//! Amazon Resource Names, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`: the one place an ARN
//! is taken apart.

/// The parts of an ARN, borrowed from its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    /// Empty for global services (IAM, for one).
    pub region: &'a str,
    pub account: &'a str,
    /// Everything after the account: `replicationgroup:orders`, `role/auditor`, ...
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `text`, or `None` when it is no ARN (not `arn:` and five more fields).
    pub fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        Some(Arn {
            partition: parts.next()?,
            service: parts.next()?,
            region: parts.next()?,
            account: parts.next()?,
            resource: parts.next()?,
        })
    }

    /// The resource's type and id, as services that write `TYPE:ID` name them
    /// (`replicationgroup:orders`); `None` when the resource has no such type.
    pub fn typed_resource(&self) -> Option<(&'a str, &'a str)> {
        self.resource.split_once(':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_an_arn() {
        let arn = Arn::parse("arn:aws-cn:elasticache:cn-north-1:123456789012:cluster:a:b").unwrap();
        assert_eq!(
            arn,
            Arn {
                partition: "aws-cn",
                service: "elasticache",
                region: "cn-north-1",
                account: "123456789012",
                resource: "cluster:a:b",
            }
        );
        assert_eq!(arn.typed_resource(), Some(("cluster", "a:b")));
        let role = Arn::parse("arn:aws:iam::123456789012:role/auditor").unwrap();
        assert_eq!(
            (role.region, role.resource, role.typed_resource()),
            ("", "role/auditor", None)
        );
        for not in ["", "orders", "arn:aws:elasticache:eu-west-1", "urn:aws:s3:::b:c"] {
            assert_eq!(Arn::parse(not), None, "{not}");
        }
    }
}
