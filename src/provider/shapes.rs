//! What AWS identifiers look like, one rule per kind, so every attribute
//! that takes (say) a VPC ID accepts and refuses the same values with the
//! same words. Checked at validate time, before any call.

use crate::framework::validators::{pattern, Pattern};

pub fn aws_region() -> Pattern {
    pattern(
        r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$",
        "an AWS region name such as `us-east-1`",
    )
}

pub fn aws_account_id() -> Pattern {
    pattern(r"^[0-9]{12}$", "a 12-digit AWS account ID")
}

pub fn iam_role_arn() -> Pattern {
    pattern(
        r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$",
        "an IAM role ARN such as `arn:aws:iam::123456789012:role/name`",
    )
    .length(1, 2048)
}

/// EC2 resource IDs: the prefix, then 8 (older resources) or 17 hex digits.
fn ec2_id(prefix: &str, what: &str) -> Pattern {
    pattern(
        &format!("^{}-[0-9a-f]{{8}}([0-9a-f]{{9}})?$", regex_escape(prefix)),
        &format!("{what} such as `{prefix}-0123456789abcdef0`"),
    )
}

fn regex_escape(s: &str) -> String {
    s.replace('-', r"\-")
}

pub fn vpc_id() -> Pattern {
    ec2_id("vpc", "a VPC ID")
}

pub fn subnet_id() -> Pattern {
    ec2_id("subnet", "a subnet ID")
}

pub fn security_group_id() -> Pattern {
    ec2_id("sg", "a security group ID")
}

pub fn vpc_endpoint_id() -> Pattern {
    ec2_id("vpce", "a VPC endpoint ID")
}

pub fn endpoint_service_id() -> Pattern {
    ec2_id("vpce-svc", "an endpoint service ID")
}

pub fn endpoint_service_name() -> Pattern {
    pattern(
        r"^com\.amazonaws\.[a-z0-9.-]+$",
        "an endpoint service name such as `com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0`",
    )
}

pub fn network_load_balancer_arn() -> Pattern {
    pattern(
        r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/net/.+$",
        "a Network Load Balancer ARN",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec2_ids_take_eight_or_seventeen_hex_digits_after_their_own_prefix() {
        let vpc = vpc_id();
        assert!(vpc.matches("vpc-0123abcd"));
        assert!(vpc.matches("vpc-0123456789abcdef0"));
        for bad in [
            "vpc-0123abc",
            "vpc-0123456789abcdef",
            "vpc-0123456789ABCDEF0",
            "subnet-0123abcd",
            "vpc-0123abcd ",
        ] {
            assert!(!vpc.matches(bad), "{bad}");
        }
        assert!(endpoint_service_id().matches("vpce-svc-0123456789abcdef0"));
        assert!(!vpc_endpoint_id().matches("vpce-svc-0123456789abcdef0"));
        assert!(!endpoint_service_id().matches("vpce-0123456789abcdef0"));
    }

    #[test]
    fn regions_accounts_and_roles() {
        assert!(aws_region().matches("eu-west-2"));
        assert!(aws_region().matches("us-gov-west-1"));
        assert!(!aws_region().matches("mars-1"));
        assert!(aws_account_id().matches("185497759670"));
        assert!(!aws_account_id().matches("18549775967"));
        assert!(iam_role_arn().matches("arn:aws:iam::185497759670:role/cdktf-operator"));
        assert!(!iam_role_arn().matches("arn:aws:iam::185497759670:user/cdktf-operator"));
    }

    #[test]
    fn every_shape_compiles() {
        use crate::framework::validators::Validator;
        for p in [
            aws_region(),
            aws_account_id(),
            iam_role_arn(),
            vpc_id(),
            subnet_id(),
            security_group_id(),
            vpc_endpoint_id(),
            endpoint_service_id(),
            endpoint_service_name(),
            network_load_balancer_arn(),
        ] {
            assert_eq!(p.defect(), None);
        }
    }
}
