//! The release files as the registry takes them, installed the way a user
//! gets them: scripts/release.sh packages the provider, and Terraform
//! installs the zip from a packed filesystem mirror, writing the lock file
//! with the zip's hash, then plans with it.

#[path = "support/terraform.rs"]
mod terraform;

use std::path::Path;
use std::process::Command;
use terraform::{repo_root, terraform, SOURCE};

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn the_zip_installs_through_a_mirror_with_its_hash_locked() {
    let dist = tempfile::tempdir().unwrap();
    let out = Command::new(repo_root().join("scripts/release.sh"))
        .arg(env!("CARGO_BIN_EXE_terraform-provider-privatelink"))
        .arg(dist.path())
        .output()
        .expect("run release.sh");
    assert!(
        out.status.success(),
        "release.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = version();
    let zip_name = format!("terraform-provider-privatelink_{v}_linux_amd64.zip");
    let zip = dist.path().join(&zip_name);
    let manifest = dist
        .path()
        .join(format!("terraform-provider-privatelink_{v}_manifest.json"));
    let sums = std::fs::read_to_string(
        dist.path()
            .join(format!("terraform-provider-privatelink_{v}_SHA256SUMS")),
    )
    .unwrap();

    // The sums cover exactly the zip and the manifest, and are right.
    let mut lines: Vec<&str> = sums.lines().collect();
    lines.sort();
    let mut want = vec![
        format!("{}  {zip_name}", sha256(&zip)),
        format!(
            "{}  terraform-provider-privatelink_{v}_manifest.json",
            sha256(&manifest)
        ),
    ];
    want.sort();
    assert_eq!(lines, want);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["5.0"])
    );

    // The zip holds one executable named as Terraform expects.
    let listing = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16))",
        ])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout).trim(),
        format!("terraform-provider-privatelink_v{v} 0o100755")
    );

    // A packed mirror: HOST/NAMESPACE/TYPE/<the zip>.
    let work = tempfile::tempdir().unwrap();
    let mirror = work.path().join("mirror");
    let dir = mirror.join(SOURCE);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&zip, dir.join(&zip_name)).unwrap();
    let module = work.path().join("module");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("main.tf"),
        format!(
            "terraform {{\n  required_providers {{\n    privatelink = {{\n      source  = \"privatelink/privatelink\"\n      version = \"= {v}\"\n    }}\n  }}\n}}\n\nprovider \"privatelink\" {{\n  region                      = \"us-east-1\"\n  skip_credentials_validation = true\n}}\n\ndata \"privatelink_vendor\" \"sigma\" {{\n  name = \"sigma\"\n}}\n\noutput \"principal\" {{\n  value = data.privatelink_vendor.sigma.principal_arn\n}}\n"
        ),
    )
    .unwrap();
    let cli = work.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [{SOURCE:?}]\n  }}\n  direct {{\n    exclude = [{SOURCE:?}]\n  }}\n}}\n",
            mirror.display().to_string()
        ),
    )
    .unwrap();
    let tf = |args: &[&str]| {
        let out = Command::new(terraform())
            .args(args)
            .current_dir(&module)
            .env("TF_CLI_CONFIG_FILE", &cli)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .output()
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "terraform {args:?} failed:\n{text}");
        text
    };
    tf(&["init", "-no-color", "-input=false"]);
    let lock = std::fs::read_to_string(module.join(".terraform.lock.hcl")).unwrap();
    assert!(lock.contains(&format!("version     = \"{v}\"")), "{lock}");
    // From a mirror Terraform records the h1 hash of the zip's contents
    // (Go's dirhash: the sha256 of the sorted "sha256  name" lines); zh
    // hashes come only with a registry's signed SHA256SUMS.
    let h1 = Command::new("python3")
        .args([
            "-c",
            "import base64, hashlib, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nlines = ''.join(sorted('%s  %s\\n' % (hashlib.sha256(z.read(n)).hexdigest(), n) for n in z.namelist()))\nprint('h1:' + base64.b64encode(hashlib.sha256(lines.encode()).digest()).decode())",
        ])
        .arg(&zip)
        .output()
        .unwrap();
    let h1 = String::from_utf8_lossy(&h1.stdout).trim().to_string();
    assert!(h1.starts_with("h1:"), "{h1}");
    assert!(
        lock.contains(&format!("\"{h1}\"")),
        "the lock file does not pin the zip's contents ({h1}):\n{lock}"
    );
    let plan = tf(&["plan", "-no-color", "-input=false"]);
    assert!(
        plan.contains("arn:aws:iam::185497759670:role/cdktf-operator"),
        "{plan}"
    );
}
