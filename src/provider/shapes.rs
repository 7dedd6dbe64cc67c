//! What AWS identifiers look like, one rule per kind, so every attribute
//! that takes (say) a VPC ID accepts and refuses the same values with the
//! same words. Checked at validate time, before any call.

use crate::framework::validators::{pattern, Pattern, Validator};
use crate::framework::{AttributePath, Diagnostics, Value};

pub fn aws_region() -> Pattern {
    pattern(
        // Two letters, or four for the European Sovereign Cloud (`eusc-`);
        // a partition or country part (`gov`, `iso`..., `de`); then the
        // compass word every Region name has, so `eu-wset-1` is a typo at
        // validate, not a DNS error after half a minute of retries.
        r"^([a-z]{2}|eusc)(-(gov|iso[a-z]?|[a-z]{2}))?-(central|(north|south)?(east|west)|north|south)-[0-9]{1,2}$",
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

/// EC2 resource IDs: the prefix (letters and hyphens, nothing a regex
/// reads specially), then 8 (older resources) or 17 hex digits.
fn ec2_id(prefix: &str, what: &str) -> Pattern {
    pattern(
        &format!("^{prefix}-[0-9a-f]{{8}}([0-9a-f]{{9}})?$"),
        &format!("{what} such as `{prefix}-0123456789abcdef0`"),
    )
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

/// A domain name such as `api.partner.com`: dot-separated labels of
/// letters, digits and inner hyphens, 253 characters at most; a leftmost
/// `*` label for names that cover subdomains.
pub fn dns_name() -> Pattern {
    pattern(
        r"^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$",
        "a domain name such as `api.example.com`",
    )
    .length(1, 253)
}

/// Tags as AWS takes them: keys of 1 to 128 characters outside the `aws:`
/// prefix AWS keeps for itself, values of at most 256.
/// Tags for EC2 objects, beside the `provider_tags` the provider adds.
pub fn aws_tags(provider_tags: usize) -> Tags {
    Tags {
        provider_tags,
        iam: false,
    }
}

/// Tags for IAM objects, whose keys and values take fewer characters.
pub fn iam_tags(provider_tags: usize) -> Tags {
    Tags {
        provider_tags,
        iam: true,
    }
}

pub struct Tags {
    provider_tags: usize,
    iam: bool,
}

/// Tags AWS takes on one EC2 or IAM object.
const TAGS_PER_OBJECT: usize = 50;

/// IAM's tag characters: letters, numbers, spaces and `_.:/=+-@`.
fn iam_tag_text(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c))
}

impl Validator for Tags {
    fn describe(&self) -> String {
        format!(
            "at most {} tags with keys of 1 to 128 characters, not starting with `aws:`, and values of at most 256",
            TAGS_PER_OBJECT - self.provider_tags
        )
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let Value::Map(tags) = value else { return };
        let room = TAGS_PER_OBJECT - self.provider_tags;
        if tags.len() > room {
            diags.error_at(
                path.clone(),
                "Too many tags",
                format!(
                    "{} tags: AWS takes {TAGS_PER_OBJECT} per object, and the provider adds {} of its own, so at most {room} here.",
                    tags.len(),
                    self.provider_tags
                ),
            );
        }
        for (key, v) in tags {
            if self.iam && !(iam_tag_text(key) && v.as_str().is_none_or(iam_tag_text)) {
                diags.error_at(
                    path.then_key(key),
                    "Invalid IAM tag",
                    format!("The tag {key:?} has a character IAM does not take in tag keys and values: only letters, numbers, spaces and `_.:/=+-@`."),
                );
            }
            let at = path.then_key(key);
            let key_len = key.chars().count();
            if key_len == 0 || key_len > 128 {
                diags.error_at(
                    at.clone(),
                    "Invalid tag key",
                    format!(
                        "The tag key {key:?} is {key_len} characters long; AWS takes 1 to 128."
                    ),
                );
            }
            if key.to_ascii_lowercase().starts_with("aws:") {
                diags.error_at(
                    at.clone(),
                    "Invalid tag key",
                    format!("{key:?} starts with `aws:`, which AWS keeps for its own tags."),
                );
            }
            if key == crate::resources::CLAIM_TAG {
                diags.error_at(
                    at.clone(),
                    "Invalid tag key",
                    format!("{key:?} is the tag the provider sets itself on what it creates."),
                );
            }
            if let Some(text) = v.as_str() {
                let len = text.chars().count();
                if len > 256 {
                    diags.error_at(at, "Invalid tag value", format!("The value of tag {key:?} is {len} characters long; AWS takes at most 256."));
                }
            }
        }
    }
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
    fn domain_names_and_tags() {
        for ok in [
            "api.partner.com",
            "a-b.example.co.uk",
            "example.com.",
            "*.example.com",
        ] {
            assert!(dns_name().matches(ok), "{ok}");
        }
        for bad in [
            "not a dns name!",
            "-a.example.com",
            "example",
            "a..com",
            "a.*.example.com",
        ] {
            assert!(!dns_name().matches(bad), "{bad}");
        }
        let check = |pairs: &[(&str, String)]| {
            let mut d = Diagnostics::new();
            let map = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::string(v.clone())))
                .collect();
            aws_tags(0).check(&Value::Map(map), &AttributePath::attr("tags"), &mut d);
            d
        };
        assert!(check(&[("team", "data".into()), ("Name", String::new())]).is_empty());
        let bad = check(&[("aws:owner", "x".into()), ("long", "v".repeat(257))]);
        assert_eq!(bad.0.len(), 2);
        assert_eq!(
            bad.0[0].path,
            Some(AttributePath::attr("tags").then_key("aws:owner"))
        );
    }

    #[test]
    fn tag_counts_leave_room_for_the_providers_and_iam_takes_fewer_characters() {
        let tags = |n: usize, text: &str| {
            Value::Map(
                (0..n)
                    .map(|i| (format!("k{i}"), Value::string(text)))
                    .collect(),
            )
        };
        let run = |v: &dyn Validator, value: Value| {
            let mut d = Diagnostics::new();
            v.check(&value, &AttributePath::attr("tags"), &mut d);
            d
        };
        assert!(run(&aws_tags(2), tags(48, "x")).is_empty());
        let over = run(&aws_tags(2), tags(49, "x"));
        assert_eq!(over.0.len(), 1);
        assert_eq!(over.0[0].path, Some(AttributePath::attr("tags")));
        assert!(
            over.0[0].detail.contains("at most 48 here"),
            "{:?}",
            over.0[0]
        );
        assert!(run(&iam_tags(1), tags(1, "data team: a/b=c+d@e_f.g-h")).is_empty());
        assert!(run(&aws_tags(1), tags(1, "a,b")).is_empty());
        let comma = run(&iam_tags(1), tags(1, "a,b"));
        assert_eq!(comma.0[0].summary, "Invalid IAM tag");
        assert_eq!(
            comma.0[0].path,
            Some(AttributePath::attr("tags").then_key("k0"))
        );
    }

    #[test]
    fn regions_accounts_and_roles() {
        assert!(aws_region().matches("eu-west-2"));
        assert!(aws_region().matches("us-gov-west-1"));
        assert!(!aws_region().matches("mars-1"));
        for real in [
            "ap-northeast-3",
            "ap-southeast-7",
            "ca-central-1",
            "cn-northwest-1",
            "eu-north-1",
            "af-south-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "mx-central-1",
        ] {
            assert!(aws_region().matches(real), "{real}");
        }
        for typo in ["eu-wset-1", "us-est-1", "useast-1", "us-east"] {
            assert!(!aws_region().matches(typo), "{typo}");
        }
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
