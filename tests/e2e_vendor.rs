//! End to end: the real Terraform CLI loads the provider from a filesystem
//! mirror and reads the vendor catalog; bad input gets Terraform-rendered
//! diagnostics pointing at the attribute at fault.

#[path = "support/terraform.rs"]
mod terraform;

use terraform::{all_terraforms, flat, Workspace};

const HEADER: &str = r#"
terraform {
  required_providers {
    privatelink = { source = "privatelink/privatelink" }
  }
}
"#;

fn config(body: &str) -> String {
    format!("{HEADER}\n{body}")
}

#[test]
fn vendor_lifecycle_under_every_terraform() {
    let body = r#"
provider "privatelink" {
  region = "eu-west-2"
}

data "privatelink_vendor" "sigma" {
  name = "sigma"
}

data "privatelink_vendor" "segment" {
  name   = "segment"
  region = "us-east-1"
}

output "sigma" {
  value = data.privatelink_vendor.sigma
}

output "segment_account" {
  value = data.privatelink_vendor.segment.aws_account_id
}

output "segment" {
  value = {
    edge_cidr = data.privatelink_vendor.segment.edge_cidr
    regions   = data.privatelink_vendor.segment.supported_regions
    limit     = data.privatelink_vendor.segment.max_vpc_endpoints
    gb        = data.privatelink_vendor.segment.monthly_transfer_limit_gb
    name      = data.privatelink_vendor.segment.display_name
  }
}
"#;
    for tf in all_terraforms() {
        let ws = Workspace::with_terraform(tf.clone(), &config(body));
        ws.init();
        ws.ok(&["validate", "-no-color"]);
        ws.apply();
        let out = ws.outputs();
        let sigma = &out["sigma"]["value"];
        assert_eq!(sigma["id"], "sigma/eu-west-2", "{}", tf.display());
        assert_eq!(
            sigma["region"], "eu-west-2",
            "region defaults to the provider's"
        );
        assert_eq!(sigma["aws_account_id"], "185497759670");
        assert_eq!(
            sigma["principal_arn"],
            "arn:aws:iam::185497759670:role/cdktf-operator"
        );
        assert_eq!(
            sigma["legacy_principal_arn"],
            "arn:aws:iam::185497759670:role/root"
        );
        assert_eq!(sigma["redshift_vpc_id"], "vpc-0d89ee0ccf9f3eeb7");
        assert_eq!(
            sigma["databricks_workspace_endpoint_id"],
            "vpce-0e2cc626d12fd41a5"
        );
        assert_eq!(sigma["app_origin"], "https://app.sigmacomputing.com");
        assert_eq!(
            sigma["privatelink_host_suffix"],
            ".privatelink.sigma.internal"
        );
        assert!(sigma["supported_regions"].as_array().unwrap().len() > 20);
        assert_eq!(sigma["display_name"], "Sigma Computing");
        let listed = |key: &str| -> Vec<String> {
            serde_json::from_value(sigma[key].clone()).unwrap_or_else(|e| panic!("{key}: {e}"))
        };
        for key in ["redshift_regions", "databricks_regions"] {
            let regions = listed(key);
            assert!(
                regions.contains(&"us-east-1".to_string())
                    && regions.contains(&"eu-west-2".to_string()),
                "{key}: {regions:?}"
            );
        }
        assert!(
            listed("source_documents")
                .iter()
                .any(|d| d.contains("help.sigmacomputing.com")),
            "{sigma}"
        );
        assert!(
            out["segment_account"]
                .get("value")
                .is_none_or(|v| v.is_null()),
            "Segment publishes no account"
        );
        let segment = &out["segment"]["value"];
        assert_eq!(segment["edge_cidr"], "10.0.0.0/8");
        assert_eq!(segment["limit"], 2);
        assert_eq!(segment["gb"], 300, "Segment's runbook: 300GB a month");
        assert_eq!(segment["name"], "Segment");
        assert_eq!(
            segment["regions"],
            serde_json::json!(["eu-west-1", "us-east-1", "us-east-2", "us-west-2"])
        );
        ws.assert_plan_empty();
        ws.destroy();
    }
}

#[test]
fn plugin_exits_gracefully_when_terraform_is_done() {
    let mut ws = Workspace::new(&config(
        "provider \"privatelink\" {\n  region = \"us-east-1\"\n}\ndata \"privatelink_vendor\" \"v\" {\n  name = \"sigma\"\n}\n",
    ));
    ws.init();
    ws.set_env("TF_LOG", "debug");
    let out = ws.ok(&["plan", "-no-color", "-input=false"]);
    assert!(
        out.stderr.contains("plugin exited"),
        "no plugin exit logged:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("plugin failed to exit gracefully"),
        "terraform had to kill the plugin:\n{}",
        out.stderr
    );
}

/// Terraform's rendering of `terraform validate`'s errors, with line wraps
/// folded so assertions do not depend on the terminal width.
/// The unused ELBv2 endpoint still validates, with a deprecation warning
/// that says to remove it.
#[test]
fn the_unused_elbv2_endpoint_is_deprecated() {
    for terraform in terraform::all_terraforms() {
        let ws = Workspace::with_terraform(
            terraform.clone(),
            &config(
                "provider \"privatelink\" {\n  region = \"us-east-1\"\n  endpoints {\n    elbv2 = \"http://127.0.0.1:1\"\n  }\n}\ndata \"privatelink_vendor\" \"v\" {\n  name = \"sigma\"\n}\n",
            ),
        );
        ws.init();
        let out = ws.ok(&["validate", "-no-color"]);
        let text = flat(&out.all());
        assert!(
            text.contains("Warning: Argument is deprecated"),
            "{}: {text}",
            terraform.display()
        );
        assert!(
            text.contains("never used; remove it"),
            "{}: {text}",
            terraform.display()
        );
    }
}

/// Every example the docs show (examples/resources, data-sources and
/// provider, rendered into docs/) validates as written, so no schema change
/// can leave the docs showing a configuration the provider refuses. An
/// example using the endpoint service example's service is validated with
/// it, as the docs present them; what examples take from the AWS provider
/// (not installed here) becomes a variable, unknown as such a value is
/// until apply.
#[test]
fn every_documented_example_validates() {
    let examples = terraform::repo_root().join("examples");
    let service = std::fs::read_to_string(
        examples.join("resources/privatelink_endpoint_service/resource.tf"),
    )
    .unwrap();
    let mut files = vec![examples.join("provider/provider.tf")];
    for kind in ["resources", "data-sources"] {
        for dir in std::fs::read_dir(examples.join(kind)).unwrap() {
            for file in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                if path.extension().is_some_and(|e| e == "tf") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    assert!(files.len() >= 11, "{files:?}");
    let foreign = regex::Regex::new(r"\b(data\.)?aws_[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+").unwrap();
    let ws = Workspace::new(&config(""));
    ws.init();
    for file in files {
        let mut text = std::fs::read_to_string(&file).unwrap();
        if text.contains("privatelink_endpoint_service.warehouse.")
            && !text.contains(r#"resource "privatelink_endpoint_service" "warehouse""#)
        {
            text.push_str(&service);
        }
        let mut stand_ins = std::collections::BTreeSet::new();
        text = foreign
            .replace_all(&text, |m: &regex::Captures| {
                let name = m[0].replace('.', "_");
                stand_ins.insert(format!("variable {name:?} {{}}\n"));
                format!("var.{name}")
            })
            .into_owned();
        text.extend(stand_ins);
        if !text.contains("required_providers") {
            text = config(&text);
        }
        ws.write("main.tf", &text);
        let out = ws.run(&["validate", "-no-color"]);
        assert_eq!(
            out.code,
            0,
            "{} does not validate:\n{}",
            file.display(),
            out.all()
        );
    }
}

fn validate_error(body: &str) -> String {
    let ws = Workspace::new(&config(body));
    ws.init();
    let out = ws.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0, "validate accepted bad input:\n{}", out.all());
    out.all()
}

/// The error text without the configuration lines Terraform quotes.
fn without_source_lines(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !l.trim_start()
                .split(':')
                .next()
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unknown_vendor_is_an_error_on_name_listing_the_catalog() {
    let err = validate_error(
        "data \"privatelink_vendor\" \"x\" {\n  name   = \"acme\"\n  region = \"us-east-1\"\n}\n",
    );
    assert!(err.contains("Invalid name"), "{err}");
    assert!(err.contains("\"acme\" is not supported"), "{err}");
    assert!(
        err.contains("`sigma`") && err.contains("`segment`"),
        "{err}"
    );
    // Terraform quotes the offending line when the diagnostic carries a path.
    assert!(
        err.contains("name   = \"acme\""),
        "diagnostic not on the attribute:\n{err}"
    );
}

#[test]
fn region_the_vendor_does_not_serve_lists_supported_regions() {
    let err = validate_error("data \"privatelink_vendor\" \"x\" {\n  name   = \"segment\"\n  region = \"eu-west-2\"\n}\n");
    assert!(err.contains("Segment does not serve eu-west-2"), "{err}");
    assert!(
        flat(&err).contains("eu-west-1, us-east-1, us-east-2, us-west-2"),
        "{err}"
    );
    assert!(
        err.contains("region = \"eu-west-2\""),
        "diagnostic not on the attribute:\n{err}"
    );
}

#[test]
fn malformed_region_is_an_error_on_region() {
    let err = validate_error(
        "data \"privatelink_vendor\" \"x\" {\n  name   = \"sigma\"\n  region = \"Mars\"\n}\n",
    );
    assert!(err.contains("Invalid region"), "{err}");
    assert!(err.contains("region = \"Mars\""), "{err}");
    assert_eq!(
        err.matches("Error:").count(),
        1,
        "one fault, one error:\n{err}"
    );
}

#[test]
fn bad_provider_configuration_points_at_the_attribute() {
    let err = validate_error(
        "provider \"privatelink\" {\n  region = \"moon-base\"\n}\ndata \"privatelink_vendor\" \"x\" {\n  name = \"sigma\"\n}\n",
    );
    assert!(err.contains("Invalid region"), "{err}");
    assert!(err.contains("region = \"moon-base\""), "{err}");
    assert_eq!(
        err.matches("Error:").count(),
        1,
        "one fault, one error:\n{err}"
    );

    let err = validate_error(
        "provider \"privatelink\" {\n  region = \"us-east-1\"\n  snowflake {\n    account = \"myorg-acct\"\n    user    = \"TF\"\n    token   = \"t0ken-value\"\n    private_key_path = \"/nonexistent/key.p8\"\n  }\n}\ndata \"privatelink_vendor\" \"x\" {\n  name = \"sigma\"\n}\n",
    );
    assert!(err.contains("Conflicting Snowflake credentials"), "{err}");
    // Terraform quotes the configuration line itself; our text must not.
    assert!(
        !without_source_lines(&err).contains("t0ken-value"),
        "a secret reached the error text:\n{err}"
    );

    let err = validate_error(
        "provider \"privatelink\" {\n  assume_role {\n    role_arn = \"arn:aws:iam::123:user/bob\"\n  }\n}\ndata \"privatelink_vendor\" \"x\" {\n  name   = \"sigma\"\n  region = \"us-east-1\"\n}\n",
    );
    assert!(err.contains("Invalid role_arn"), "{err}");

    let err = validate_error(
        "provider \"privatelink\" {\n  region      = \"us-east-1\"\n  max_retries = -1\n}\ndata \"privatelink_vendor\" \"x\" {\n  name = \"sigma\"\n}\n",
    );
    assert!(err.contains("Invalid max_retries"), "{err}");
    assert!(err.contains("max_retries = -1"), "{err}");

    let err = validate_error(
        "provider \"privatelink\" {\n  region                = \"us-east-1\"\n  allowed_account_ids   = [\"111111111111\"]\n  forbidden_account_ids = [\"222222222222\"]\n}\ndata \"privatelink_vendor\" \"x\" {\n  name = \"sigma\"\n}\n",
    );
    assert!(err.contains("Conflicting account lists"), "{err}");
    assert!(err.contains("forbidden_account_ids = ["), "{err}");
}

/// A plan of one AWS-backed data source with `env`, which must fail;
/// Terraform's rendering with line wraps folded.
fn plan_error(provider: &str, env: &[(&str, &str)]) -> String {
    let mut ws = Workspace::new(&config(&format!(
        "{provider}\ndata \"privatelink_endpoint_service\" \"x\" {{\n  service_name = \"com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0\"\n}}\n"
    )));
    for (k, v) in env {
        ws.set_env(k, v);
    }
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "the plan succeeded:\n{}", out.all());
    flat(&out.all())
}

/// A loopback port nothing listens on: below the ephemeral range, so an
/// emulator a parallel test starts (on port 0) can never take it, as it
/// could a port bound and released here.
fn closed_port() -> u16 {
    1
}

#[test]
fn unreachable_aws_is_named_with_the_reason_not_blamed_on_credentials() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let err = plan_error(
        &format!("provider \"privatelink\" {{\n  region      = \"us-east-1\"\n  max_retries = 0\n  endpoints {{\n    sts = \"{url}\"\n    ec2 = \"{url}\"\n  }}\n}}\n"),
        &[("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")],
    );
    assert!(err.contains("Error: Cannot reach AWS STS"), "{err}");
    assert!(
        err.contains(&format!(
            "sts:GetCallerIdentity at {url} failed (up to 1 attempt):"
        )),
        "the endpoint tried is named: {err}"
    );
    assert!(
        err.contains("could not reach the AWS endpoint:") && err.contains("Connection refused"),
        "{err}"
    );
    assert!(err.contains("endpoints.sts"), "{err}");
    assert!(!err.contains("Invalid AWS credentials"), "{err}");
    assert!(
        !err.contains("DispatchFailure"),
        "a Debug dump reached the user:\n{err}"
    );
    assert!(!err.contains("not-a-real-secret"), "{err}");
}

#[test]
fn environment_values_are_checked_like_the_attributes_they_stand_in_for() {
    let err = plan_error(
        "provider \"privatelink\" {\n  region = \"us-east-1\"\n}\n",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
            ("AWS_ENDPOINT_URL_EC2", "not a url"),
        ],
    );
    assert!(err.contains("Error: Invalid AWS_ENDPOINT_URL_EC2"), "{err}");
    assert!(
        err.contains(
            "AWS_ENDPOINT_URL_EC2 is \"not a url\"; it must be an http:// or https:// URL"
        ),
        "{err}"
    );
    assert!(
        !err.contains("Request {"),
        "a Debug dump reached the user:\n{err}"
    );
}

/// A mistyped Region stops at validation, on the attribute, before any
/// call (it used to be half a minute of retries ending in a DNS error).
#[test]
fn a_mistyped_region_is_an_error_on_region() {
    let err = plan_error(
        "provider \"privatelink\" {\n  region = \"eu-wset-1\"\n}\n",
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret"),
            (
                "AWS_ENDPOINT_URL",
                &format!("http://127.0.0.1:{}", closed_port()),
            ),
        ],
    );
    assert!(err.contains("\"eu-wset-1\""), "{err}");
    assert!(
        err.contains("an AWS region name such as `us-east-1`"),
        "{err}"
    );
    assert!(
        err.contains("region = \"eu-wset-1\""),
        "not on the attribute:\n{err}"
    );
    assert!(!err.contains("Cannot reach"), "{err}");
}

#[test]
fn a_role_that_cannot_be_assumed_is_named_not_called_missing_credentials() {
    let url = format!("http://127.0.0.1:{}", closed_port());
    let err = plan_error(
        &format!("provider \"privatelink\" {{\n  region      = \"us-east-1\"\n  max_retries = 0\n  assume_role {{\n    role_arn = \"arn:aws:iam::123456789012:role/platform\"\n  }}\n  endpoints {{\n    sts = \"{url}\"\n    ec2 = \"{url}\"\n  }}\n}}\n"),
        &[("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"), ("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")],
    );
    assert!(err.contains("Error: Cannot get AWS credentials"), "{err}");
    assert!(
        err.contains("Assuming arn:aws:iam::123456789012:role/platform (assume_role) failed"),
        "{err}"
    );
    assert!(err.contains("Connection refused"), "{err}");
    assert!(!err.contains("No AWS credentials found"), "{err}");
    assert!(!err.contains("not-a-real-secret"), "{err}");
}

#[test]
fn no_credentials_anywhere_is_said_plainly() {
    let nowhere = std::env::temp_dir().join("privatelink-no-such-aws-dir/file");
    let nowhere = nowhere.to_str().expect("utf-8 path");
    let err = plan_error(
        "provider \"privatelink\" {\n  region = \"us-east-1\"\n}\n",
        &[
            ("AWS_CONFIG_FILE", nowhere),
            ("AWS_SHARED_CREDENTIALS_FILE", nowhere),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    assert!(err.contains("Error: No AWS credentials found"), "{err}");
    // Every source the chain tried, in the SDK's words.
    assert!(err.contains("Environment:"), "{err}");
    assert!(err.contains("Ec2InstanceMetadata:"), "{err}");
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    assert!(!err.contains("could not reach"), "{err}");
    assert!(
        !err.contains("DispatchFailure"),
        "a Debug dump reached the user:\n{err}"
    );
}

#[test]
fn missing_region_everywhere_is_explained() {
    let mut ws = Workspace::new(&config(
        "data \"privatelink_vendor\" \"x\" {\n  name = \"sigma\"\n}\n",
    ));
    // Not the machine's ~/.aws/config either.
    ws.write("aws_config", "");
    let file = ws.path().join("aws_config").display().to_string();
    ws.set_env("AWS_CONFIG_FILE", &file);
    ws.init();
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    assert!(out.all().contains("No region"), "{}", out.all());
    assert!(out.all().contains("AWS_REGION"), "{}", out.all());

    // A region in the AWS profile serves as the provider's, as it does for
    // the AWS clients; no credentials are needed to read the catalog.
    ws.write("aws_config", "[profile analytics]\nregion = eu-west-2\n");
    ws.set_env("AWS_PROFILE", "analytics");
    ws.write(
        "main.tf",
        &config("data \"privatelink_vendor\" \"x\" {\n  name = \"sigma\"\n}\noutput \"region\" {\n  value = data.privatelink_vendor.x.region\n}\n"),
    );
    ws.apply();
    assert_eq!(ws.outputs()["region"]["value"], "eu-west-2");
}
