//! End to end: privatelink_s3_storage_integration through the real Terraform
//! CLI against the AWS emulator. Each test checks what Terraform prints and
//! what S3 and IAM hold afterwards, read back with boto3 (s3_fixtures.py).

#[path = "support/aws.rs"]
mod aws;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/terraform.rs"]
mod terraform;

use aws::{Emulator, ACCOUNT};
use harness::{assert_import_matches, main_tf, rewrite, workspace, workspace_under};
use serde_json::{json, Value};

const TYPE: &str = "privatelink_s3_storage_integration";
const PREFIX: &str = "sigma/exports";

fn config(bucket: &str, role: &str, extra: &str) -> String {
    format!(
        r#"
resource "privatelink_s3_storage_integration" "sigma" {{
  bucket    = {bucket:?}
  prefix    = {PREFIX:?}
  role_name = {role:?}
  vendor    = "sigma"
{extra}
}}

output "integration" {{
  value = privatelink_s3_storage_integration.sigma
}}
"#
    )
}

/// The AWS calls served since the last clear, as `service:Action` (with
/// the status when it was not a success), in order.
fn calls(emu: &Emulator) -> Vec<String> {
    emu.requests()
        .into_iter()
        .map(|(s, a, st)| {
            if (200..300).contains(&st) {
                format!("{s}:{a}")
            } else {
                format!("{s}:{a}={st}")
            }
        })
        .collect()
}

fn count(log: &[String], call: &str) -> usize {
    log.iter().filter(|c| c.as_str() == call).count()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn integration(ws: &terraform::Workspace) -> Value {
    ws.outputs()["integration"]["value"].clone()
}

/// The statement as the policy document holds it.
fn statement(policy: &str, sid: &str) -> Value {
    let doc: Value = serde_json::from_str(policy).expect("policy JSON");
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .cloned()
        .unwrap_or(Value::Null)
}

fn policy_text(emu: &Emulator, bucket: &str) -> Option<String> {
    emu.s3_fixture(&["policy-raw", bucket])["policy"]
        .as_str()
        .map(str::to_string)
}

fn assert_no_iam_objects(emu: &Emulator, role: &str) {
    let left = emu.s3_fixture(&["iam-objects", role]);
    assert_eq!(
        left,
        json!({"roles": [], "policies": []}),
        "IAM objects left behind"
    );
}

/// `-replace` (or a taint) of an integration under create_before_destroy:
/// the new instance adopts the role, policy and rules by their names, so
/// destroying the deposed one leaves them, and the next plan is empty.
#[test]
fn a_create_before_destroy_replacement_of_an_integration_keeps_its_objects() {
    let emu = Emulator::start();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "sigma-cbd";
    let ws = workspace(
        &emu,
        &config(
            &bucket,
            role,
            "  allowed_source_cidrs = [\"203.0.113.0/24\"]\n  lifecycle {\n    create_before_destroy = true\n  }",
        ),
    );
    ws.init();
    ws.apply();
    let made = integration(&ws);
    let objects = || {
        (
            emu.s3_fixture(&["iam-objects", role]),
            strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]),
            emu.s3_fixture(&["policy-raw", &bucket])["policy"].clone(),
        )
    };
    let before = objects();
    assert_eq!(before.0["roles"], json!([role]), "{before:?}");
    let address = "privatelink_s3_storage_integration.sigma";
    for how in ["-replace", "taint"] {
        ws.replace_by(how, address);
        assert_eq!(objects(), before, "{how}");
        assert_eq!(integration(&ws)["role_arn"], made["role_arn"]);
        ws.assert_plan_empty();
    }
    // A new policy_name replaces the integration: the replacement keeps the
    // role, rule and statement, and the old policy goes, not left attached.
    rewrite(
        &emu,
        &ws,
        &config(
            &bucket,
            role,
            "  policy_name = \"sigma-cbd-access\"\n  allowed_source_cidrs = [\"203.0.113.0/24\"]\n  lifecycle {\n    create_before_destroy = true\n  }",
        ),
    );
    ws.apply();
    assert_eq!(
        emu.s3_fixture(&["iam-objects", role]),
        json!({"roles": [role], "policies": ["sigma-cbd-access"]})
    );
    assert_eq!(objects().1, before.1, "the CORS rule stays");
    assert_eq!(objects().2, before.2, "the statement stays");
    ws.assert_plan_empty();
    ws.destroy();
    assert_no_iam_objects(&emu, role);
}

/// The runbook's whole flow on a bucket other teams already use: phase one
/// (placeholder trust) with an allowlist, phase two (the vendor's user and
/// external ID, a wider allowlist) in place, import, destroy. The other
/// teams' two CORS rules and policy statement stay byte for byte as S3
/// returned them before, and after destroy the policy is the original text.
#[test]
fn two_phases_keep_foreign_rules_and_statement_byte_for_byte() {
    let emu = Emulator::start();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let foreign_statement = fx["foreign_statement"].as_str().unwrap().to_string();
    let foreign_rules = strings(&fx["foreign_cors_rules"]);
    assert_eq!(foreign_rules.len(), 2);
    let policy_before = policy_text(&emu, &bucket).unwrap();
    assert!(policy_before.contains(&foreign_statement));

    let role = "sigma-two-phase";
    let phase1 = config(
        &bucket,
        role,
        "  allowed_source_cidrs = [\"203.0.113.0/24\"]",
    );
    let ws = workspace(&emu, &phase1);
    ws.init();
    emu.clear_requests();
    ws.apply();
    let create_calls = calls(&emu);

    let out = integration(&ws);
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/{role}-s3-access");
    assert_eq!(out["trust_phase"], "placeholder", "{out}");
    assert_eq!(out["role_arn"], role_arn.as_str());
    assert_eq!(out["policy_arn"], policy_arn.as_str());
    assert_eq!(out["cors_rule_id"], format!("privatelink-{role}").as_str());
    assert_eq!(out["id"], format!("{bucket}/{PREFIX}/{role}").as_str());
    assert_eq!(
        out["vendor_handoff"],
        json!({"role_arn": role_arn, "bucket_path": format!("{bucket}/{PREFIX}")})
    );

    // IAM: the runbook's policy, attached; the placeholder trust.
    let r = emu.s3_fixture(&["role", role]);
    assert_eq!(r["exists"], true, "{r}");
    assert_eq!(r["attached"], json!([policy_arn]));
    let trust = &r["trust"]["Statement"][0];
    assert_eq!(
        trust["Principal"]["AWS"],
        format!("arn:aws:iam::{ACCOUNT}:root").as_str()
    );
    assert_eq!(trust["Action"], "sts:AssumeRole");
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], "0000");
    let doc = emu.s3_fixture(&["policy-document", &policy_arn]);
    assert_eq!(
        doc["Statement"],
        json!([
            {"Action": ["s3:ListBucket"], "Effect": "Allow", "Resource": format!("arn:aws:s3:::{bucket}")},
            {"Action": ["s3:PutObject", "s3:GetObject", "s3:PutObjectTagging"], "Effect": "Allow",
             "Resource": format!("arn:aws:s3:::{bucket}/{PREFIX}/*")}
        ])
    );

    // CORS: the other teams' rules first, untouched; ours with Sigma's
    // runbook settings after them.
    let cors = emu.s3_fixture(&["cors-raw", &bucket]);
    let rules = strings(&cors["rules"]);
    assert_eq!(rules.len(), 3, "{cors}");
    assert_eq!(rules[..2], foreign_rules[..]);
    let parsed = emu.s3_fixture(&["cors", &bucket]);
    assert_eq!(
        parsed[2],
        json!({
            "ID": format!("privatelink-{role}"),
            "AllowedHeaders": ["*"],
            "AllowedMethods": ["GET", "PUT", "POST"],
            "AllowedOrigins": ["https://app.sigmacomputing.com"],
            "ExposeHeaders": ["Access-Control-Allow-Origin", "ETag"],
            "MaxAgeSeconds": 3600
        })
    );

    // Bucket policy: the original text with exactly our statement added.
    let policy = policy_text(&emu, &bucket).unwrap();
    let ours = out["allowlist_statement"].as_str().unwrap().to_string();
    let ours_json: Value = serde_json::from_str(&ours).unwrap();
    let sid = ours_json["Sid"].as_str().unwrap().to_string();
    assert!(
        sid.starts_with("PrivatelinkAllowlistsigmatwophase"),
        "{sid}"
    );
    assert_eq!(
        policy.replace(&format!(",{ours}"), ""),
        policy_before,
        "{policy}"
    );
    let st = statement(&policy, &sid);
    assert!(st["Sid"].is_string(), "no statement {sid:?} in {policy}");
    assert_eq!(st["Effect"], "Deny");
    assert_eq!(st["Principal"]["AWS"], role_arn.as_str());
    assert_eq!(
        st["Resource"],
        format!("arn:aws:s3:::{bucket}/{PREFIX}/*").as_str()
    );
    // One CIDR is written as S3 stores it: a string, not a list.
    assert_eq!(
        st["Condition"]["NotIpAddress"]["aws:SourceIp"],
        json!("203.0.113.0/24")
    );

    emu.clear_requests();
    ws.assert_plan_empty();
    let refresh_calls = calls(&emu);

    // The same condition as a one-element list (as an earlier release wrote
    // it) reads the same: no diff, no rewrite of the shared policy.
    let as_list = policy.replace(
        r#""aws:SourceIp":"203.0.113.0/24""#,
        r#""aws:SourceIp":["203.0.113.0/24"]"#,
    );
    assert_ne!(as_list, policy);
    emu.s3_fixture(&["put-policy-raw", &bucket, &as_list]);
    ws.assert_plan_empty();
    emu.s3_fixture(&["put-policy-raw", &bucket, &policy]);

    // Phase two: the vendor has created its side and shows a user ARN and
    // an external ID; the trust changes in place, the allowlist widens.
    let user = emu.s3_fixture(&["vendor-user", "--name", "sigma-two-phase-user"]);
    let user_arn = user["arn"].as_str().unwrap().to_string();
    let ext = "SIGMA_ab12cd34_SFCRole=3_abc:def/ghi+jk@lm,n.o-p";
    rewrite(
        &emu,
        &ws,
        &config(
            &bucket,
            role,
            &format!(
                "  vendor_iam_user_arn = {user_arn:?}\n  external_id = {ext:?}\n  allowed_source_cidrs = [\"203.0.113.0/24\", \"198.51.100.17/32\"]"
            ),
        ),
    );
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    ws.assert_plan_empty();
    let out2 = integration(&ws);
    assert_eq!(out2["trust_phase"], "vendor");
    assert_eq!(
        out2["role_arn"],
        role_arn.as_str(),
        "same role, updated in place"
    );
    let trust = &emu.s3_fixture(&["role", role])["trust"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], user_arn.as_str());
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], ext);
    let cors = emu.s3_fixture(&["cors-raw", &bucket]);
    assert_eq!(strings(&cors["rules"])[..2], foreign_rules[..]);
    let policy = policy_text(&emu, &bucket).unwrap();
    assert!(policy.contains(&foreign_statement), "{policy}");
    assert_eq!(
        statement(&policy, &sid)["Condition"]["NotIpAddress"]["aws:SourceIp"],
        json!(["198.51.100.17/32", "203.0.113.0/24"])
    );

    assert_import_matches(&emu, &ws, TYPE, &format!("{bucket}/{PREFIX}/{role}"));
    // An ID naming another bucket, or a prefix the policy does not grant,
    // is refused instead of planning a replacement of the live role.
    let other = harness::copy_of(&emu, &main_tf(&ws));
    other.init();
    let address = format!("{TYPE}.sigma");
    for (id, says) in [
        (
            format!("no-such-bucket-anywhere/{PREFIX}/{role}"),
            "Bucket not found",
        ),
        (
            format!("{bucket}/elsewhere/{role}"),
            "Import ID does not match the role's policy",
        ),
    ] {
        let out = other.run(&["import", "-no-color", "-input=false", &address, &id]);
        assert_ne!(out.code, 0, "{}", out.all());
        assert!(out.all().contains(says), "{}", out.all());
    }
    assert!(
        !other.path().join("terraform.tfstate").exists(),
        "an import was recorded"
    );

    // The prefix moves in place: the policy follows it, and so does the
    // role's description, which names the bucket and prefix.
    assert!(emu.s3_fixture(&["role", role])["description"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{bucket}/{PREFIX}")));
    let moved = main_tf(&ws).replace(
        &format!("prefix    = {PREFIX:?}"),
        "prefix    = \"sigma/moved\"",
    );
    assert!(moved.contains("sigma/moved"));
    ws.write("main.tf", &moved);
    ws.apply_says("0 added, 1 changed, 0 destroyed");
    ws.assert_plan_empty();
    let described = emu.s3_fixture(&["role", role]);
    assert!(
        described["description"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{bucket}/sigma/moved")),
        "{described}"
    );
    let doc = emu.s3_fixture(&["policy-document", &policy_arn]);
    assert_eq!(
        doc["Statement"][1]["Resource"],
        format!("arn:aws:s3:::{bucket}/sigma/moved/*").as_str(),
        "{doc}"
    );

    emu.clear_requests();
    ws.destroy();
    let destroy_calls = calls(&emu);
    let cors = emu.s3_fixture(&["cors-raw", &bucket]);
    assert_eq!(
        strings(&cors["rules"]),
        foreign_rules,
        "only the others' rules remain"
    );
    assert_eq!(
        policy_text(&emu, &bucket).as_deref(),
        Some(policy_before.as_str()),
        "the bucket policy is the original text again"
    );
    assert_eq!(emu.s3_fixture(&["role", role])["exists"], false);
    assert_no_iam_objects(&emu, role);

    eprintln!(
        "{TYPE} AWS calls:\n  create ({}): {}\n  refresh ({}): {}\n  destroy ({}): {}",
        create_calls.len(),
        create_calls.join(" "),
        refresh_calls.len(),
        refresh_calls.join(" "),
        destroy_calls.len(),
        destroy_calls.join(" ")
    );
    assert!(
        refresh_calls
            .iter()
            .filter(|c| !c.starts_with("sts:"))
            .count()
            <= 6,
        "a refresh should cost six reads: {refresh_calls:?}"
    );
}

/// An integration set up by hand with Sigma's runbook, on a bucket other
/// teams use, adopted by import: the vendor comes from the hand-made CORS
/// rule (which has no ID), the allowlist from the hand-made statement, and
/// the first apply takes both over in place instead of adding twins beside
/// them. Destroy then leaves only the other teams' rules and statement.
#[test]
fn a_runbook_made_integration_is_imported_and_taken_over_without_twins() {
    let emu = Emulator::start();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "sigma-by-hand";
    let user = emu.s3_fixture(&["vendor-user", "--name", "sigma-by-hand-user"]);
    let user = user["arn"].as_str().unwrap();
    let ext = "SIGMA_ab12_SFCRole=3_abc=";
    let cidr = "203.0.113.0/24";
    let hand = emu.s3_fixture(&[
        "runbook",
        &bucket,
        PREFIX,
        role,
        "--vendor-user",
        user,
        "--external-id",
        ext,
        "--policy-name",
        "SigmaStorageIntegrationS3",
        "--cidr",
        cidr,
    ]);
    assert_eq!(hand["statement"]["Sid"], "RunbookAllowlist", "{hand}");
    let sigma_rules = |emu: &Emulator| -> Vec<Value> {
        emu.s3_fixture(&["cors", &bucket])
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["AllowedOrigins"] == json!(["https://app.sigmacomputing.com"]))
            .cloned()
            .collect()
    };
    assert_eq!(sigma_rules(&emu).len(), 1);

    // Written from the hand-made values, without `vendor` known to the import.
    let ws = workspace(
        &emu,
        &config(
            &bucket,
            role,
            &format!(
                "  policy_name = \"SigmaStorageIntegrationS3\"\n  vendor_iam_user_arn = {user:?}\n  external_id = {ext:?}\n  allowed_source_cidrs = [{cidr:?}]"
            ),
        ),
    );
    ws.init();
    let address = format!("{TYPE}.sigma");
    ws.ok(&[
        "import",
        "-no-color",
        "-input=false",
        &address,
        // The S3 console's s3:// form of the path.
        &format!("s3://{bucket}/{PREFIX}/{role}"),
    ]);
    let imported = ws.resource_values(TYPE);
    assert_eq!(imported["id"], format!("{bucket}/{PREFIX}/{role}").as_str());
    assert_eq!(imported["vendor"], "sigma", "{imported}");
    assert_eq!(
        imported["allowed_source_cidrs"],
        json!([cidr]),
        "{imported}"
    );
    assert_eq!(imported["cors_rule_id"], Value::Null, "{imported}");

    let plan = ws.plan_says("0 to add, 1 to change, 0 to destroy");
    let text = terraform::flat(&plan.all());
    assert!(
        text.contains("Warning: CORS rule made by hand")
            && text.contains(&format!("gives it the ID privatelink-{role}")),
        "{text}"
    );
    ws.apply();
    let rules = sigma_rules(&emu);
    assert_eq!(rules.len(), 1, "a second Sigma rule: {rules:?}");
    assert_eq!(rules[0]["ID"], format!("privatelink-{role}").as_str());
    let policy = policy_text(&emu, &bucket).unwrap();
    let doc: Value = serde_json::from_str(&policy).unwrap();
    let sids: Vec<&str> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["Sid"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(sids.len(), 2, "{policy}");
    assert_eq!(sids[0], "AnalyticsTeamRead", "{policy}");
    assert!(sids[1].starts_with("PrivatelinkAllowlist"), "{policy}");
    assert_eq!(
        statement(&policy, sids[1])["Condition"]["NotIpAddress"]["aws:SourceIp"],
        cidr,
        "{policy}"
    );
    ws.assert_plan_empty();

    ws.destroy();
    assert!(sigma_rules(&emu).is_empty());
    assert_eq!(
        emu.s3_fixture(&["cors", &bucket]).as_array().unwrap().len(),
        2
    );
    let policy = policy_text(&emu, &bucket).unwrap();
    let doc: Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 1, "{policy}");
    assert_no_iam_objects(&emu, role);
}

/// A bucket no other team uses, holding a Sigma integration (role `role`,
/// prefix `sigma/prod`) made by hand with the runbook: (bucket, the
/// vendor's IAM user ARN it trusts).
fn sigma_made_by_hand(emu: &Emulator, role: &str) -> (String, String) {
    let fx = emu.s3_fixture(&["bucket", "--foreign", "false"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let user = emu.s3_fixture(&["vendor-user", "--name", &format!("{role}-user")]);
    let user = user["arn"].as_str().unwrap().to_string();
    emu.s3_fixture(&[
        "runbook",
        &bucket,
        "sigma/prod",
        role,
        "--vendor-user",
        &user,
        "--external-id",
        "ext",
    ]);
    (bucket, user)
}

/// A new integration beside one made by hand never takes the hand-made
/// CORS rule (only an import does): its own goes beside it, and its destroy
/// leaves the hand-made one as it was. Nor does adding an allowlist take
/// over a statement of the same shape another team put there for the role.
#[test]
fn a_create_beside_a_hand_made_integration_leaves_it_alone() {
    let emu = aws::emulator();
    let (bucket, _) = sigma_made_by_hand(emu, "sigma-by-hand-prod");
    let hand_made = emu.s3_fixture(&["cors", &bucket]);
    let role = "sigma-terraform-dev";
    let ws = workspace(emu, &config(&bucket, role, ""));
    ws.init();
    ws.apply();
    let rules = emu.s3_fixture(&["cors", &bucket]);
    assert_eq!(rules.as_array().unwrap().len(), 2, "{rules}");
    assert_eq!(
        rules[0], hand_made[0],
        "the hand-made rule changed: {rules}"
    );

    // A security team locks the role to its own ranges, then the
    // integration gets an allowlist: both statements stand.
    let lock = json!({
        "Sid": "SecurityTeamLock",
        "Effect": "Deny",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/{role}")},
        "Action": "s3:*",
        "Resource": format!("arn:aws:s3:::{bucket}/{PREFIX}/*"),
        "Condition": {"NotIpAddress": {"aws:SourceIp": "10.1.0.0/16"}},
    });
    let policy = json!({"Version": "2012-10-17", "Statement": [lock]}).to_string();
    emu.s3_fixture(&["put-policy-raw", &bucket, &policy]);
    rewrite(
        emu,
        &ws,
        &config(&bucket, role, "  allowed_source_cidrs = [\"0.0.0.0/0\"]"),
    );
    ws.apply();
    let policy = policy_text(emu, &bucket).unwrap();
    assert_eq!(statement(&policy, "SecurityTeamLock"), lock, "{policy}");
    let doc: Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(doc["Statement"].as_array().unwrap().len(), 2, "{policy}");

    ws.destroy();
    assert_eq!(emu.s3_fixture(&["cors", &bucket]), hand_made);
    assert_eq!(
        statement(&policy_text(emu, &bucket).unwrap(), "SecurityTeamLock"),
        lock
    );
}

/// A hand-made integration for a vendor with no browser app, imported from
/// a bucket whose only ID-less rule is another vendor's: the import takes
/// that rule for the vendor's, and the configuration's vendor sets it
/// straight. The apply releases the rule untouched, and the next plan is
/// empty.
#[test]
fn an_import_that_took_another_vendors_rule_lets_it_go() {
    let emu = aws::emulator();
    let (bucket, user) = sigma_made_by_hand(emu, "sigma-by-hand");
    let user = user.as_str();
    let role = "segment-by-hand";
    emu.s3_fixture(&[
        "runbook",
        &bucket,
        PREFIX,
        role,
        "--vendor-user",
        user,
        "--external-id",
        "ext",
        "--policy-name",
        "segment-by-hand-policy",
        "--cors",
        "false",
    ]);
    let hand_made = emu.s3_fixture(&["cors", &bucket]);
    let segment = config(
        &bucket,
        role,
        &format!("  policy_name = \"segment-by-hand-policy\"\n  vendor_iam_user_arn = {user:?}\n  external_id = \"ext\""),
    )
    .replace("vendor    = \"sigma\"", "vendor    = \"segment\"");
    let ws = workspace(emu, &segment);
    ws.init();
    ws.ok(&[
        "import",
        "-no-color",
        "-input=false",
        &format!("{TYPE}.sigma"),
        &format!("{bucket}/{PREFIX}/{role}"),
    ]);
    assert_eq!(ws.resource_values(TYPE)["vendor"], "sigma");
    ws.apply();
    ws.assert_plan_empty();
    let out = integration(&ws);
    assert_eq!(out["cors_rule_id"], Value::Null, "{out}");
    assert_eq!(emu.s3_fixture(&["cors", &bucket]), hand_made);
    ws.destroy();
    assert_eq!(emu.s3_fixture(&["cors", &bucket]), hand_made);
}

/// A vendor with no browser app (Segment) gets no CORS rule; switching the
/// vendor adds and removes the rule in place, beside the other teams'.
#[test]
fn a_vendor_without_a_browser_app_gets_no_cors_rule() {
    let emu = aws::emulator();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "segment-no-cors";
    let segment =
        config(&bucket, role, "").replace("vendor    = \"sigma\"", "vendor    = \"segment\"");
    assert!(segment.contains("\"segment\""), "{segment}");
    let ws = workspace(emu, &segment);
    ws.init();
    ws.apply();
    let out = integration(&ws);
    assert_eq!(out["cors_rule_id"], Value::Null, "{out}");
    assert_eq!(out["cors_rule"], Value::Null, "{out}");
    let rules = || emu.s3_fixture(&["cors", &bucket]).as_array().unwrap().len();
    assert_eq!(rules(), 2, "only the other teams' rules");
    ws.assert_plan_empty();

    rewrite(emu, &ws, &config(&bucket, role, ""));
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    assert_eq!(
        integration(&ws)["cors_rule_id"],
        format!("privatelink-{role}").as_str()
    );
    assert_eq!(rules(), 3);
    ws.assert_plan_empty();

    rewrite(emu, &ws, &segment);
    ws.apply();
    assert_eq!(integration(&ws)["cors_rule_id"], Value::Null);
    assert_eq!(rules(), 2);
    ws.assert_plan_empty();
    ws.destroy();
    assert_no_iam_objects(emu, role);
}

/// The provider's default_tags go on both IAM objects under the
/// integration's own tags, show as tags_all, and a new default is one
/// in-place update of both objects.
#[test]
fn default_tags_reach_the_role_and_the_policy() {
    let emu = aws::emulator();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "sigma-default-tags";
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/{role}-s3-access");
    let main_tf = |team: &str| {
        let provider = emu.provider_block_with(&format!(
            "  default_tags {{\n    tags = {{ team = {team:?} }}\n  }}\n"
        ));
        format!(
            "{}{provider}\n{}",
            harness::HEADER,
            config(&bucket, role, "  tags = { Name = \"sigma\" }")
        )
    };
    let ws = harness::copy_of(emu, &main_tf("data"));
    ws.init();
    ws.apply();
    let out = integration(&ws);
    assert_eq!(out["tags"], json!({"Name": "sigma"}), "{out}");
    assert_eq!(
        out["tags_all"],
        json!({"Name": "sigma", "team": "data"}),
        "{out}"
    );
    assert_eq!(emu.s3_fixture(&["role", role])["tags"]["team"], "data");
    assert_eq!(
        emu.s3_fixture(&["policy-tags", &policy_arn])["team"],
        "data"
    );
    ws.assert_plan_empty();

    ws.write("main.tf", &main_tf("platform"));
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    assert_eq!(emu.s3_fixture(&["role", role])["tags"]["team"], "platform");
    assert_eq!(
        emu.s3_fixture(&["policy-tags", &policy_arn])["team"],
        "platform"
    );
    ws.assert_plan_empty();

    // EC2 takes `&` in a tag, IAM does not: a default fine elsewhere fails
    // this plan, on the integration, before anything changes.
    ws.write("main.tf", &main_tf("R&D"));
    let out = ws.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0, "{}", out.all());
    let text = terraform::flat(&out.all());
    assert!(
        text.contains("Error: Invalid IAM tag with the provider's default_tags"),
        "{text}"
    );
    assert!(
        text.contains("privatelink_s3_storage_integration.sigma"),
        "{text}"
    );
    assert_eq!(emu.s3_fixture(&["role", role])["tags"]["team"], "platform");

    ws.write("main.tf", &main_tf("platform"));
    ws.destroy();
    assert_no_iam_objects(emu, role);
}

/// S3 fails the CORS step (InternalError on every attempt the SDK makes):
/// the apply fails, the state records the IAM objects already created, the
/// next apply converges through two OperationAborted answers (retried, the
/// configuration re-read each time), and destroy leaves no IAM object.
#[test]
fn injected_cors_failure_then_converging_apply_and_clean_destroy() {
    let emu = Emulator::start();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let foreign_rules = strings(&fx["foreign_cors_rules"]);
    let role = "sigma-cors-fault";
    let ws = workspace(&emu, &config(&bucket, role, ""));
    ws.init();

    emu.clear_requests();
    emu.fault(
        json!({"service": "s3", "action": "PutBucketCors", "code": "InternalError",
                     "message": "We encountered an internal error. Please try again.",
                     "status": 500, "count": 10}),
    );
    let failed = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(failed.code, 0, "{}", failed.all());
    assert!(
        failed
            .all()
            .contains("Failed to update the bucket's CORS configuration")
            && failed.all().contains("InternalError"),
        "{}",
        failed.all()
    );
    let log = calls(&emu);
    assert_eq!(
        count(&log, "s3:PutBucketCors=500"),
        10,
        "the SDK retries a 500 ten times: {log:?}"
    );
    // The error quotes the ID S3 gave the last attempt, for AWS Support.
    let last_attempt = emu
        .request_log()
        .into_iter()
        .rfind(|e| e["action"] == "PutBucketCors")
        .expect("PutBucketCors is logged");
    let request_id = last_attempt["request_id"].as_str().unwrap();
    assert!(
        terraform::flat(&failed.all()).contains(&format!("(AWS request ID {request_id})")),
        "{}",
        failed.all()
    );
    emu.clear_faults();

    // Nothing orphaned: what exists is in state.
    let partial = ws.resource_values(TYPE);
    assert_eq!(
        partial["role_arn"],
        format!("arn:aws:iam::{ACCOUNT}:role/{role}").as_str()
    );
    assert_eq!(
        partial["policy_arn"],
        format!("arn:aws:iam::{ACCOUNT}:policy/{role}-s3-access").as_str()
    );
    assert!(partial["cors_rule_id"].is_null(), "{partial}");
    let iam = emu.s3_fixture(&["iam-objects", role]);
    assert_eq!(iam["roles"], json!([role]));
    assert_eq!(iam["policies"], json!([format!("{role}-s3-access")]));
    assert_eq!(
        strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]),
        foreign_rules
    );

    // Another writer holds the CORS configuration for a moment.
    emu.fault(json!({"service": "s3", "action": "PutBucketCors", "code": "OperationAborted",
                     "message": "A conflicting conditional operation is currently in progress against this resource. Please try again.",
                     "status": 409, "count": 2}));
    emu.clear_requests();
    ws.apply();
    let log = calls(&emu);
    assert_eq!(count(&log, "s3:PutBucketCors=409"), 2, "{log:?}");
    assert_eq!(count(&log, "s3:PutBucketCors"), 1, "{log:?}");
    assert!(
        count(&log, "s3:GetBucketCors") >= 3,
        "re-read before every attempt: {log:?}"
    );
    ws.assert_plan_empty();
    let rules = strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]);
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[..2], foreign_rules[..]);

    // IAM has not yet seen the detach everywhere: DeleteConflict, retried.
    for action in ["DeletePolicy", "DeleteRole"] {
        emu.fault(
            json!({"service": "iam", "action": action, "code": "DeleteConflict",
                         "message": "Cannot delete entity, must detach all policies first.",
                         "status": 409, "count": 2}),
        );
    }
    emu.clear_requests();
    ws.destroy();
    let log = calls(&emu);
    for action in ["DeletePolicy", "DeleteRole"] {
        assert_eq!(count(&log, &format!("iam:{action}=409")), 2, "{log:?}");
        assert_eq!(count(&log, &format!("iam:{action}")), 1, "{log:?}");
    }
    assert_no_iam_objects(&emu, role);
    assert_eq!(
        strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]),
        foreign_rules
    );
    emu.clear_faults();
}

/// Out-of-band edits: the other teams' rules change without a plan
/// noticing; our rule, trust and statement changed by hand show as drift
/// and the next apply puts them back, leaving the others' edits alone.
#[test]
fn owned_drift_shows_in_the_plan_and_foreign_edits_do_not() {
    let emu = aws::emulator();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "sigma-drift";
    let ws = workspace(
        emu,
        &config(
            &bucket,
            role,
            "  allowed_source_cidrs = [\"203.0.113.0/24\"]\n  tags = { Team = \"data\" }",
        ),
    );
    ws.init();
    ws.apply();
    ws.assert_plan_empty();

    emu.s3_fixture(&["edit-cors", &bucket, "analytics-team", "1200"]);
    emu.s3_fixture(&["edit-cors", &bucket, "#1", "30"]);
    ws.assert_plan_empty();

    let owned = format!("privatelink-{role}");
    emu.s3_fixture(&["edit-cors", &bucket, &owned, "60"]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "owned rule drift must show:\n{}", plan.all());
    // Shown as the rule's drift, not as a `cors` block going away.
    assert!(
        plan.stdout.contains("~ cors_rule")
            && plan.stdout.contains("~ max_age_seconds = 60 -> 3600")
            && !plan.stdout.contains("- cors {"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
    ws.apply();
    ws.assert_plan_empty();
    let rules = emu.s3_fixture(&["cors", &bucket]);
    assert_eq!(
        rules[0]["MaxAgeSeconds"], 1200,
        "others' edit kept: {rules}"
    );
    assert_eq!(rules[1]["MaxAgeSeconds"], 30, "others' edit kept: {rules}");
    assert_eq!(rules[2]["ID"], owned.as_str());
    assert_eq!(rules[2]["MaxAgeSeconds"], 3600, "ours restored: {rules}");
    // A setting taken out of the rule by hand is put back too.
    emu.s3_fixture(&["edit-cors", &bucket, &owned, "none"]);
    assert!(emu.s3_fixture(&["cors", &bucket])[2]
        .get("MaxAgeSeconds")
        .is_none());
    ws.plan_says("0 to add, 1 to change, 0 to destroy");
    ws.apply();
    ws.assert_plan_empty();
    assert_eq!(emu.s3_fixture(&["cors", &bucket])[2]["MaxAgeSeconds"], 3600);

    emu.s3_fixture(&["edit-trust", role, "tampered"]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "trust drift must show:\n{}", plan.all());
    assert!(
        plan.stdout.contains("tampered") && plan.stdout.contains("assume_role_policy"),
        "{}",
        plan.stdout
    );
    ws.apply();
    ws.assert_plan_empty();
    let trust = &emu.s3_fixture(&["role", role])["trust"]["Statement"][0];
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], "0000");

    // The policy's tags drift apart from the role's: shown, and put back.
    let policy_arn = format!("arn:aws:iam::{ACCOUNT}:policy/{role}-s3-access");
    emu.s3_fixture(&["untag-policy", &policy_arn, "Team"]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "policy tag drift must show:\n{}", plan.all());
    assert!(
        plan.stdout.contains("\"Team\" = \"data\""),
        "{}",
        plan.stdout
    );
    ws.apply();
    ws.assert_plan_empty();
    assert_eq!(
        emu.s3_fixture(&["policy-tags", &policy_arn])["Team"],
        "data"
    );
    // A tag added to the role alone: shown, and taken off the role.
    emu.s3_fixture(&["tag-role", role, "Extra", "1"]);
    let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
    assert_eq!(plan.code, 2, "role tag drift must show:\n{}", plan.all());
    assert!(plan.stdout.contains("\"Extra\""), "{}", plan.stdout);
    ws.apply();
    ws.assert_plan_empty();
    let tags = &emu.s3_fixture(&["role", role])["tags"];
    assert!(
        tags.get("Extra").is_none() && tags["Team"] == "data",
        "{tags}"
    );
    // Each object drifted its own way: one apply puts both back, since it
    // reads what each holds rather than what state shows.
    emu.s3_fixture(&["tag-role", role, "Extra1", "1"]);
    emu.s3_fixture(&["tag-policy", &policy_arn, "Extra2", "2"]);
    ws.apply();
    ws.assert_plan_empty();
    assert!(emu.s3_fixture(&["role", role])["tags"]
        .get("Extra1")
        .is_none());
    assert!(emu
        .s3_fixture(&["policy-tags", &policy_arn])
        .get("Extra2")
        .is_none());

    ws.destroy();
    let rules = emu.s3_fixture(&["cors", &bucket]);
    assert_eq!(rules.as_array().unwrap().len(), 2, "{rules}");
    assert_eq!(rules[0]["MaxAgeSeconds"], 1200);
    assert_no_iam_objects(emu, role);
}

/// Drift in the CORS rule of an integration whose configuration leaves the
/// `cors` block out plans and applies under every Terraform. (Terraform
/// before 1.3 proposes such a block as still there, then refuses a plan
/// that keeps it.)
#[test]
fn cors_drift_without_a_cors_block_plans_under_every_terraform() {
    let emu = aws::emulator();
    for (i, tf) in terraform::all_terraforms().into_iter().enumerate() {
        let fx = emu.s3_fixture(&["bucket"]);
        let bucket = fx["bucket"].as_str().unwrap().to_string();
        let role = format!("sigma-compat-{i}");
        let ws = workspace_under(emu, tf.clone(), &config(&bucket, &role, ""));
        ws.init();
        ws.apply();
        let owned = format!("privatelink-{role}");
        emu.s3_fixture(&["edit-cors", &bucket, &owned, "60"]);
        let plan = ws.run(&["plan", "-no-color", "-input=false", "-detailed-exitcode"]);
        assert_eq!(plan.code, 2, "{}:\n{}", tf.display(), plan.all());
        assert!(plan.stdout.contains("1 to change"), "{}", plan.stdout);
        ws.apply();
        ws.assert_plan_empty();
        let rules = emu.s3_fixture(&["cors", &bucket]);
        let ours = rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ID"] == owned.as_str())
            .unwrap_or_else(|| panic!("{}: {rules}", tf.display()));
        assert_eq!(ours["MaxAgeSeconds"], 3600, "{}: {rules}", tf.display());
        ws.destroy();
        assert_no_iam_objects(emu, &role);
    }
}

/// A vendor ARN IAM does not know is retried as propagation, within the
/// update timeout, then reported on `vendor_iam_user_arn`; the trust stays
/// as it was. Once the vendor's user exists the same apply succeeds.
#[test]
fn unknown_vendor_principal_is_retried_then_reported_on_its_attribute() {
    let emu = Emulator::start();
    let fx = emu.s3_fixture(&["bucket", "--foreign", "false"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "sigma-principal";
    let ws = workspace(&emu, &config(&bucket, role, ""));
    ws.init();
    ws.apply();

    let user_arn = "arn:aws:iam::185497759670:user/sigma-not-yet";
    let phase2 = |timeouts: &str| {
        config(
            &bucket,
            role,
            &format!(
                "  vendor_iam_user_arn = {user_arn:?}\n  external_id = \"ext-12345\"\n{timeouts}"
            ),
        )
    };
    rewrite(&emu, &ws, &phase2("  timeouts {\n    update = \"4s\"\n  }"));
    emu.clear_requests();
    let failed = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(failed.code, 0);
    let err = failed.all();
    assert!(
        err.contains("Gave up waiting for IAM to accept the role's trusted principal"),
        "{err}"
    );
    assert!(err.contains("Invalid principal in policy"), "{err}");
    assert!(
        err.contains(&format!("vendor_iam_user_arn = {user_arn:?}")),
        "not on the attribute:\n{err}"
    );
    let log = calls(&emu);
    assert!(
        count(&log, "iam:UpdateAssumeRolePolicy=400") >= 2,
        "retried: {log:?}"
    );
    assert_eq!(count(&log, "iam:UpdateAssumeRolePolicy"), 0, "{log:?}");
    assert_eq!(ws.resource_values(TYPE)["trust_phase"], "placeholder");
    let trust = &emu.s3_fixture(&["role", role])["trust"]["Statement"][0];
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], "0000");

    emu.s3_fixture(&["vendor-user", "--name", "sigma-not-yet"]);
    rewrite(&emu, &ws, &phase2(""));
    ws.apply();
    ws.assert_plan_empty();
    assert_eq!(ws.resource_values(TYPE)["trust_phase"], "vendor");
    ws.destroy();
    assert_no_iam_objects(&emu, role);
    assert_eq!(policy_text(&emu, &bucket), None);
    assert_eq!(emu.s3_fixture(&["cors-raw", &bucket])["xml"], Value::Null);
}

/// S3 allows 100 CORS rules: a full configuration is a clear error, the
/// rules are left as they were, and destroy removes what was created.
#[test]
fn a_full_cors_configuration_is_a_clear_error() {
    let emu = aws::emulator();
    let fx = emu.s3_fixture(&["bucket", "--fill-cors", "100"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let before = strings(&fx["foreign_cors_rules"]);
    assert_eq!(before.len(), 100);
    let role = "sigma-full-cors";
    let ws = workspace(emu, &config(&bucket, role, ""));
    ws.init();
    let failed = ws.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(failed.code, 0);
    let err = failed.all();
    assert!(
        err.contains("Too many CORS rules") && err.contains("at most 100"),
        "{err}"
    );
    assert_eq!(
        strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]),
        before
    );
    ws.destroy();
    assert_no_iam_objects(emu, role);
}

/// A second integration (another configuration, say) with a role_name
/// already in use for another prefix is refused on role_name: adopting the
/// role and policy would make destroying either break the other.
#[test]
fn a_role_name_another_integration_uses_is_refused() {
    let emu = aws::emulator();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let role = "sigma-shared-name";
    let first = workspace(emu, &config(&bucket, role, ""));
    first.init();
    first.apply();
    for policy_name in ["", "  policy_name = \"sigma-other-policy\"\n"] {
        let second = workspace(
            emu,
            &config(&bucket, role, policy_name).replace(
                &format!("prefix    = {PREFIX:?}"),
                "prefix    = \"other/exports\"",
            ),
        );
        second.init();
        let out = second.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
        assert_ne!(out.code, 0, "{}", out.all());
        let err = terraform::flat(&out.all());
        assert!(
            err.contains("Role name used by another integration"),
            "{err}"
        );
        assert!(
            err.contains(&format!("role_name = {role:?}")),
            "not on the attribute: {err}"
        );
        // Nothing of the first's is this one's to destroy.
        assert!(second.ok(&["state", "list"]).stdout.trim().is_empty());
        second.destroy();
        let objects = emu.s3_fixture(&["iam-objects", role]);
        assert_eq!(objects["roles"], json!([role]), "{objects}");
        assert_eq!(
            objects["policies"].as_array().unwrap().len(),
            1,
            "{objects}"
        );
    }
    // The first integration is untouched.
    first.assert_plan_empty();
    first.destroy();
    assert_no_iam_objects(emu, role);
}

#[test]
fn bad_input_is_reported_on_the_attribute() {
    let emu = aws::emulator();
    let ws = workspace(
        emu,
        r#"
resource "privatelink_s3_storage_integration" "bad" {
  bucket              = "some-bucket"
  prefix              = "/sigma/exports/"
  role_name           = "sigma-bad"
  vendor              = "sigma"
  vendor_iam_user_arn = "arn:aws:iam::185497759670:user/sigma"
  external_id         = "has spaces!"
}

resource "privatelink_s3_storage_integration" "short" {
  bucket              = "some-bucket"
  prefix              = "sigma"
  role_name           = "sigma-short"
  vendor              = "sigma"
  vendor_iam_user_arn = "arn:aws:iam::185497759670:user/sigma"
  external_id         = "x"
}

resource "privatelink_s3_storage_integration" "origins" {
  bucket               = "some-bucket"
  prefix               = "sigma"
  role_name            = "sigma-origins"
  allowed_source_cidrs = ["10.0.0.1/8"]
  cors {
    allowed_origins = ["app.sigmacomputing.com", "https://app.sigmacomputing.com/"]
  }
}
"#,
    );
    ws.init();
    let out = ws.run(&["validate", "-no-color"]);
    assert_ne!(out.code, 0);
    let err = out.all();
    assert!(err.contains("Invalid prefix"), "{err}");
    assert!(
        err.contains("prefix              = \"/sigma/exports/\""),
        "not on the attribute:\n{err}"
    );
    assert!(err.contains("Invalid external_id"), "{err}");
    assert!(
        err.contains("external_id         = \"has spaces!\""),
        "not on the attribute:\n{err}"
    );
    assert!(
        err.contains("external_id         = \"x\""),
        "2 characters at least:\n{err}"
    );
    assert!(err.contains("2 to 1224 characters"), "{err}");
    // Origins S3 would store and then never match, and a block with host
    // bits set, with the network it probably means.
    let folded = terraform::flat(&err);
    assert_eq!(err.matches("Invalid allowed_origins").count(), 2, "{err}");
    assert!(folded.contains("no path or trailing slash"), "{err}");
    assert!(
        err.contains("\"10.0.0.1/8\" has host bits set: the network is 10.0.0.0/8"),
        "{err}"
    );

    // A bucket that does not exist: refused at plan time, on `bucket`,
    // before anything is created.
    let missing = workspace(emu, &config("no-such-bucket-anywhere", "sigma-missing", ""));
    missing.init();
    let out = missing.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = out.all();
    assert!(err.contains("Bucket not found"), "{err}");
    assert!(
        err.contains("bucket    = \"no-such-bucket-anywhere\""),
        "not on the attribute:\n{err}"
    );
    let out = missing.run(&["apply", "-no-color", "-input=false", "-auto-approve"]);
    assert_ne!(out.code, 0);
    assert_no_iam_objects(emu, "sigma-missing");
    let _ = main_tf(&missing);

    // A bucket of another Region: S3 answers only there, and the plan
    // says so on `bucket`.
    let west = emu.s3_fixture(&["bucket", "--region", "us-west-2", "--foreign", "false"]);
    let west = west["bucket"].as_str().unwrap();
    let elsewhere = workspace(emu, &config(west, "sigma-west", ""));
    elsewhere.init();
    let out = elsewhere.run(&["plan", "-no-color", "-input=false"]);
    assert_ne!(out.code, 0);
    let err = terraform::flat(&out.all());
    assert!(err.contains("Bucket in another Region"), "{err}");
    assert!(
        err.contains("is in us-west-2, and this provider works in us-east-1"),
        "{err}"
    );
    assert!(
        err.contains(&format!("bucket = \"{west}\"")),
        "not on the attribute:\n{err}"
    );
    assert_no_iam_objects(emu, "sigma-west");
}

/// Integrations on one bucket, applied in parallel: S3 replaces the whole
/// CORS configuration and policy on each write, yet each keeps its rule
/// and allowlist statement beside the other's, through apply, an update of
/// both and destroy.
#[test]
fn integrations_sharing_a_bucket_keep_each_others_rule_and_statement() {
    let emu = aws::emulator();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let teams = ["shared1", "shared2", "shared3"];
    let body = |cidr: &str| {
        format!(
            r#"
resource "privatelink_s3_storage_integration" "team" {{
  for_each             = toset({teams:?})
  bucket               = {bucket:?}
  prefix               = "exports/${{each.key}}"
  role_name            = "sigma-${{each.key}}"
  vendor               = "sigma"
  allowed_source_cidrs = [{cidr:?}]
}}
"#,
            teams = teams.to_vec()
        )
    };
    let ours = |emu: &Emulator| {
        let rules: Vec<String> = emu
            .s3_fixture(&["cors", &bucket])
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["ID"].as_str())
            .filter(|id| id.starts_with("privatelink-"))
            .map(str::to_string)
            .collect();
        // Sids drop the role names' dashes and add a hash: found by prefix.
        let policy: Value = policy_text(emu, &bucket)
            .map(|p| serde_json::from_str(&p).unwrap())
            .unwrap_or(Value::Null);
        let statements: Vec<Value> = teams
            .iter()
            .map(|t| {
                let sid = format!("PrivatelinkAllowlistsigma{t}");
                policy["Statement"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["Sid"].as_str().is_some_and(|x| x.starts_with(&sid)))
                    .cloned()
                    .unwrap_or(Value::Null)
            })
            .collect();
        (rules, statements)
    };
    let ws = workspace(emu, &body("203.0.113.0/24"));
    ws.init();
    ws.apply();
    let (mut rules, statements) = ours(emu);
    rules.sort();
    assert_eq!(
        rules,
        teams.map(|t| format!("privatelink-sigma-{t}")).to_vec()
    );
    for s in &statements {
        assert!(s.to_string().contains("203.0.113.0/24"), "{statements:?}");
    }
    ws.assert_plan_empty();

    rewrite(emu, &ws, &body("198.51.100.0/24"));
    ws.apply();
    let (rules, statements) = ours(emu);
    assert_eq!(rules.len(), teams.len(), "{rules:?}");
    for s in &statements {
        assert!(s.to_string().contains("198.51.100.0/24"), "{statements:?}");
    }
    ws.assert_plan_empty();

    ws.destroy();
    let (rules, statements) = ours(emu);
    assert!(rules.is_empty(), "{rules:?}");
    assert!(statements.iter().all(Value::is_null), "{statements:?}");
}

/// Every `cors` setting given explicitly lands in the owned rule exactly,
/// changes in place, and going back to the defaults (block removed) gives
/// the runbook's rule again; the other teams' rules are never touched.
#[test]
fn every_cors_setting_lands_in_the_owned_rule_and_back_to_defaults() {
    let emu = Emulator::start();
    let fx = emu.s3_fixture(&["bucket"]);
    let bucket = fx["bucket"].as_str().unwrap().to_string();
    let foreign_rules = strings(&fx["foreign_cors_rules"]);
    let role = "sigma-custom-cors";
    let owned_rule = || {
        let raw = strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]);
        assert_eq!(raw[..2], foreign_rules[..], "foreign rules changed");
        let parsed = emu.s3_fixture(&["cors", &bucket]);
        assert_eq!(parsed.as_array().unwrap().len(), 3, "{parsed}");
        parsed[2].clone()
    };
    let ws = workspace(&emu, &config(&bucket, role, ""));
    ws.init();
    ws.apply();
    let id = integration(&ws)["id"].clone();
    let defaults = owned_rule();

    let custom = r#"  cors {
    allowed_origins = ["https://reports.example.com", "https://app.sigmacomputing.com"]
    allowed_methods = ["GET", "HEAD"]
    allowed_headers = ["Authorization", "Content-Type"]
    expose_headers  = ["ETag"]
    max_age_seconds = 600
  }"#;
    rewrite(&emu, &ws, &config(&bucket, role, custom));
    ws.updates_in_place_without("must be replaced", "CORS settings change in place");
    assert_eq!(
        owned_rule(),
        json!({
            "ID": format!("privatelink-{role}"),
            "AllowedHeaders": ["Authorization", "Content-Type"],
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": ["https://reports.example.com", "https://app.sigmacomputing.com"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600
        })
    );
    assert_eq!(integration(&ws)["id"], id, "updated in place");

    rewrite(&emu, &ws, &config(&bucket, role, ""));
    ws.updates_in_place_without("must be replaced", "back to the defaults in place");
    assert_eq!(owned_rule(), defaults);

    ws.destroy();
    assert_eq!(
        strings(&emu.s3_fixture(&["cors-raw", &bucket])["rules"]),
        foreign_rules
    );
    assert_no_iam_objects(&emu, role);
}
