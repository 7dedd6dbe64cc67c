//! The IAM actions the provider's credentials need: each resource and data
//! source declares, in its own file, the actions each of its operations may
//! call; the docs' Permissions sections and the index page's policy are
//! written from those declarations, and the end-to-end tests hold every
//! call the emulator served to them (each call names its resource and
//! operation in its User-Agent: `attribution.rs`).

use crate::data_sources;
use crate::framework::docs::Section;
use crate::framework::operation::Operation;
use crate::resources;
use std::collections::BTreeSet;

/// The IAM actions (`service:Action`) each operation may call. An operation
/// left out calls none.
pub type Permissions = &'static [(Operation, &'static [&'static str])];

/// What a type's operations need; `None` for a name the provider does not
/// serve. A resource and a data source may share a name: the data source
/// is the one whose operation is `ReadData`.
pub fn of_resource(type_name: &str) -> Option<Permissions> {
    Some(match type_name {
        "privatelink_endpoint_service" => resources::endpoint_service::PERMISSIONS,
        "privatelink_endpoint_connection_accepter" => {
            resources::endpoint_connection_accepter::PERMISSIONS
        }
        "privatelink_vpc_endpoint" => resources::vpc_endpoint::PERMISSIONS,
        "privatelink_redshift_endpoint_grant" => resources::redshift_endpoint_grant::PERMISSIONS,
        "privatelink_snowflake_endpoint_pin" => resources::snowflake_endpoint_pin::PERMISSIONS,
        "privatelink_s3_storage_integration" => resources::s3_storage_integration::PERMISSIONS,
        _ => return None,
    })
}

pub fn of_data_source(type_name: &str) -> Option<Permissions> {
    Some(match type_name {
        "privatelink_endpoint_service" => data_sources::endpoint_service::PERMISSIONS,
        "privatelink_vendor" => data_sources::vendor::PERMISSIONS,
        "privatelink_snowflake_config" => data_sources::snowflake_config::PERMISSIONS,
        "privatelink_snowflake_endpoint_registrations" => {
            data_sources::snowflake_endpoint_registrations::PERMISSIONS
        }
        _ => return None,
    })
}

/// How a docs page names an operation, and when Terraform runs it.
fn row_label(operation: Operation) -> (&'static str, &'static str) {
    match operation {
        Operation::Read => (
            "Read",
            "every plan and apply (refresh), and after an import",
        ),
        Operation::Plan => ("Plan", "every plan and apply, a destroy's included"),
        Operation::Create => ("Create", "an apply that creates it"),
        Operation::Update => ("Update", "an apply that changes it in place"),
        Operation::Delete => ("Delete", "an apply or destroy that removes it"),
        Operation::Import => ("Import", "`terraform import` and `import` blocks"),
        Operation::ReadData => ("Read", "every plan and apply"),
    }
}

const ACTIONS_NOTE: &str = "`sts:GetCallerIdentity`, which the provider calls to learn its account, needs no permission and is not listed. A few listed actions are permission-only (`route53:AssociateVPCWithHostedZone`, `vpce:AllowMultiRegion`): AWS checks them on another call.";

/// The Permissions section of a resource's or data source's page.
pub fn section(permissions: Permissions, data_source: bool) -> Section {
    // A data source is only read; a resource has every other operation.
    let operations = Operation::ALL
        .into_iter()
        .filter(|op| (*op == Operation::ReadData) == data_source);
    let body = if permissions.iter().all(|(_, actions)| actions.is_empty()) {
        format!(
            "This {} makes no AWS calls.",
            if data_source {
                "data source"
            } else {
                "resource"
            }
        )
    } else {
        let mut table = String::from(if data_source {
            "The AWS (IAM) actions the provider's credentials need to read it, in every plan and apply. [The index page](../index.md#permissions) has one policy for everything the provider does. "
        } else {
            "The AWS (IAM) actions the provider's credentials need, by operation: every plan needs those of Read and Plan (a refresh and a plan run before any change), and an apply those of the change it makes as well. [The index page](../index.md#permissions) has one policy for everything the provider does. "
        });
        table.push_str(ACTIONS_NOTE);
        if permissions
            .iter()
            .any(|(_, actions)| actions.contains(&"sts:GetFederationToken"))
        {
            // These calls are made with the minting credentials, which
            // are not the provider's when a federation_profile is set.
            table.push_str(" Its AWS calls are made with the credentials that mint the Snowflake token: those of `federation_profile` (the resource's, else the provider's) when one is set, so that profile's IAM user needs these actions, and the provider's own credentials (or `assume_role`) do not.");
        }
        table.push_str("\n\n| Operation | When | AWS actions |\n|---|---|---|\n");
        for op in operations {
            let actions = actions_of(permissions, op);
            let (label, when) = row_label(op);
            let list = if actions.is_empty() {
                "none".to_string()
            } else {
                actions
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            table.push_str(&format!("| {label} | {when} | {list} |\n"));
        }
        table
    };
    Section {
        heading: "Permissions".into(),
        body,
    }
}

/// The actions `permissions` grants `operation`, sorted.
pub fn actions_of(permissions: Permissions, operation: Operation) -> BTreeSet<&'static str> {
    permissions
        .iter()
        .filter(|(op, _)| *op == operation)
        .flat_map(|(_, actions)| actions.iter().copied())
        .collect()
}

/// An IAM policy allowing `actions`, laid out as AWS's documents are
/// (Version first, which serde_json's sorted maps would put last).
fn policy_document(actions: &BTreeSet<&str>) -> String {
    let list = actions
        .iter()
        .map(|a| format!("        \"{a}\""))
        .collect::<Vec<_>>()
        .join(",\n");
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Sid\": \"TerraformProviderPrivatelink\",\n      \"Effect\": \"Allow\",\n      \"Action\": [\n{list}\n      ],\n      \"Resource\": \"*\"\n    }}\n  ]\n}}"
    )
}

/// The index page's Permissions section: one policy with every action any
/// resource or data source calls.
pub fn provider_section(all: &[Permissions]) -> Section {
    let actions: BTreeSet<&str> = all
        .iter()
        .flat_map(|p| p.iter().flat_map(|(_, actions)| actions.iter().copied()))
        .collect();
    let policy = policy_document(&actions);
    Section {
        heading: "Permissions".into(),
        body: format!(
            "An IAM policy that allows every AWS action the provider needs, whatever it manages. Each resource's and data source's page lists its actions by operation, to grant less where a configuration uses only some of them; a plan needs the Read and Plan ones (and the data sources' Read). {ACTIONS_NOTE} With `assume_role`, the policy belongs to that role, and the credentials that assume it need `sts:AssumeRole` on it. The credentials that mint the Snowflake token (`federation_profile`, when set) need `sts:GetFederationToken` and `ec2:DescribeVpcEndpoints` themselves.\n\nThe policy allows the actions on every resource (`\"Resource\": \"*\"`). Narrow it before production use: `iam:CreateRole`, `iam:AttachRolePolicy`, `iam:CreatePolicyVersion` and `iam:UpdateAssumeRolePolicy` on every role would let the holder grant itself any permission, so limit the IAM actions to the ARNs of the integration roles and policies you name (by a name prefix or path), the S3 actions to your buckets, and the Redshift actions to your clusters.\n\n```json\n{policy}\n```\n\nWith `assume_role`, the role's trust policy must let the provider's own credentials assume it, and when `external_id` is set AWS compares it with the condition key `sts:ExternalId`. STS is called at the provider's Region's endpoint (or `endpoints.sts`), which matters to SCPs and STS VPC endpoints. A trust policy for credentials of account 111122223333:\n\n```json\n{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Principal\": {{ \"AWS\": \"arn:aws:iam::111122223333:root\" }},\n      \"Action\": \"sts:AssumeRole\",\n      \"Condition\": {{ \"StringEquals\": {{ \"sts:ExternalId\": \"the external_id\" }} }}\n    }}\n  ]\n}}\n```\n\nEach AWS call a resource or data source makes names, in its User-Agent (which CloudTrail records as `userAgent`), the type and operation it was made for, for example `md/tf-resource#privatelink_vpc_endpoint md/tf-operation#create`; a lookup that answers several at once names the one that sent it."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::resource::Provider;
    use crate::provider::PrivatelinkProvider;

    #[test]
    fn every_type_declares_its_permissions() {
        let provider = PrivatelinkProvider;
        for r in provider.resources() {
            assert!(of_resource(r.type_name()).is_some(), "{}", r.type_name());
        }
        for d in provider.data_sources() {
            assert!(of_data_source(d.type_name()).is_some(), "{}", d.type_name());
        }
    }

    #[test]
    fn actions_are_iam_actions_and_fit_their_type() {
        let provider = PrivatelinkProvider;
        let resources = provider
            .resources()
            .iter()
            .map(|r| (of_resource(r.type_name()).unwrap(), false))
            .collect::<Vec<_>>();
        let data = provider
            .data_sources()
            .iter()
            .map(|d| (of_data_source(d.type_name()).unwrap(), true))
            .collect::<Vec<_>>();
        for (permissions, data_source) in resources.into_iter().chain(data) {
            for (op, actions) in permissions {
                // A data source is only read; a resource never ReadData.
                assert_eq!(*op == Operation::ReadData, data_source, "{op}");
                for a in *actions {
                    let (service, action) = a.split_once(':').unwrap_or_default();
                    assert!(
                        ["ec2", "iam", "redshift", "route53", "s3", "sts", "vpce"]
                            .contains(&service),
                        "{a}"
                    );
                    assert!(
                        action.starts_with(|c: char| c.is_ascii_uppercase())
                            && action.chars().all(|c| c.is_ascii_alphanumeric()),
                        "{a}"
                    );
                    assert_ne!(*a, "sts:GetCallerIdentity", "needs no permission");
                }
            }
        }
    }

    /// Actions AWS checks on a call the provider makes, which no emulator
    /// shows: each must be declared where that call is.
    #[test]
    fn permission_only_actions_are_declared_beside_the_calls_that_need_them() {
        let needs = [
            // Private DNS on an interface endpoint (AWS's Service
            // Authorization Reference, CreateVpcEndpoint's dependent actions).
            (
                "privatelink_vpc_endpoint",
                Operation::Create,
                "route53:AssociateVPCWithHostedZone",
            ),
            (
                "privatelink_vpc_endpoint",
                Operation::Update,
                "route53:AssociateVPCWithHostedZone",
            ),
            // A service offered in other Regions (supported_regions).
            (
                "privatelink_endpoint_service",
                Operation::Create,
                "vpce:AllowMultiRegion",
            ),
            (
                "privatelink_endpoint_service",
                Operation::Update,
                "vpce:AllowMultiRegion",
            ),
            // The Snowflake token is checked on unregister as on register.
            (
                "privatelink_snowflake_endpoint_pin",
                Operation::Delete,
                "ec2:DescribeVpcEndpoints",
            ),
        ];
        for (type_name, op, action) in needs {
            let declared = actions_of(of_resource(type_name).unwrap(), op);
            assert!(declared.contains(action), "{type_name} {op}: {action}");
        }
    }

    #[test]
    fn the_policy_is_json_allowing_every_declared_action() {
        const READS: Permissions = &[(Operation::Read, &["ec2:DescribeVpcs"])];
        const CREATES: Permissions =
            &[(Operation::Create, &["iam:CreateRole", "ec2:DescribeVpcs"])];
        let section = provider_section(&[READS, CREATES]);
        let json = section
            .body
            .split("```json\n")
            .nth(1)
            .and_then(|rest| rest.split("\n```").next())
            .expect("a json block");
        let policy: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
        assert_eq!(policy["Version"], "2012-10-17");
        assert_eq!(
            policy["Statement"][0]["Action"],
            serde_json::json!(["ec2:DescribeVpcs", "iam:CreateRole"])
        );
        assert_eq!(policy["Statement"][0]["Resource"], "*");
    }

    #[test]
    fn a_type_without_calls_says_so_and_others_get_a_row_per_operation() {
        let none = section(&[], true);
        assert_eq!(none.body, "This data source makes no AWS calls.");
        let some = section(
            &[
                (Operation::Read, &["ec2:DescribeVpcs"]),
                (Operation::Create, &["ec2:CreateVpc", "ec2:CreateTags"]),
            ],
            false,
        );
        assert!(some
            .body
            .contains("| Create | an apply that creates it | `ec2:CreateTags`, `ec2:CreateVpc` |"));
        assert!(some
            .body
            .contains("| Update | an apply that changes it in place | none |"));
    }
}
