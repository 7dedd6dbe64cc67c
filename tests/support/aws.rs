//! The AWS emulator (moto with the project's extension), started per test
//! binary on a free loopback port and stopped with it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn python() -> PathBuf {
    let venv = repo().join(".tools/venv/bin/python");
    assert!(
        venv.exists(),
        "no emulator venv: run `make setup` (or tests/emulators/setup.sh)"
    );
    venv
}

/// An emulator process (AWS or Snowflake) on a free loopback port, stopped
/// when dropped.
pub struct Server {
    pub url: String,
    child: Mutex<Child>,
    // Held open: the server exits when its stdin closes, so it never
    // outlives this test process.
    _stdin: Mutex<ChildStdin>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(mut c) = self.child.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Server {
    /// Starts `script` (under tests/emulators) and waits for its
    /// `READY <url>` line.
    pub fn start(script: &str) -> Server {
        let mut child = Command::new(python())
            .arg(repo().join("tests/emulators").join(script))
            .args(["--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read READY line");
        let url = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected output from {script}: {line:?}"))
            .to_string();
        Server {
            url,
            child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    }
}

pub struct Emulator {
    pub url: String,
    _server: Server,
}

/// The emulator shared by the tests of this binary that neither inject
/// faults nor count calls.
pub fn emulator() -> &'static Emulator {
    static EMU: OnceLock<Emulator> = OnceLock::new();
    EMU.get_or_init(Emulator::start)
}

impl Emulator {
    /// A private emulator, for tests that inject faults or count calls.
    pub fn start() -> Emulator {
        let server = Server::start("aws/server.py");
        Emulator {
            url: server.url.clone(),
            _server: server,
        }
    }
}

impl Emulator {
    /// The provider block pointing every service at the emulator.
    pub fn provider_block(&self) -> String {
        self.provider_block_with("")
    }

    /// `provider_block` with `settings` (whole lines, indented) first in it.
    pub fn provider_block_with(&self, settings: &str) -> String {
        let services = ["ec2", "iam", "redshift", "s3", "sts"];
        let endpoints: Vec<String> = services
            .iter()
            .map(|s| format!("    {s} = {:?}", self.url))
            .collect();
        format!(
            "provider \"privatelink\" {{\n{settings}  region = {REGION:?}\n  endpoints {{\n{}\n  }}\n}}\n",
            endpoints.join("\n")
        )
    }

    /// Environment for terraform (and so the provider): the emulator's keys.
    pub fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
    }

    fn admin(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> serde_json::Value {
        admin_at(&self.url, method, path, body)
    }

    /// A check, for a workspace to run after its destroy, that every AWS
    /// call the provider made to this emulator so far is documented.
    pub fn documented_calls_check(&self) -> impl Fn() + 'static {
        let url = self.url.clone();
        move || assert_calls_documented(&admin_at(&url, "GET", "/_privatelink/requests", None))
    }

    /// Every AWS call the emulator has served: (service, action, status).
    pub fn requests(&self) -> Vec<(String, String, i64)> {
        let v = self.admin("GET", "/_privatelink/requests", None);
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|r| {
                        (
                            r["service"].as_str().unwrap_or_default().to_string(),
                            r["action"].as_str().unwrap_or_default().to_string(),
                            r["status"].as_i64().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Clears the request log, first holding the calls in it to the docs
    /// (`assert_calls_documented`), so that no call goes unchecked.
    pub fn clear_requests(&self) {
        assert_calls_documented(&self.admin("GET", "/_privatelink/requests", None));
        self.admin("DELETE", "/_privatelink/requests", None);
    }

    pub fn fault(&self, fault: serde_json::Value) {
        self.admin("POST", "/_privatelink/faults", Some(&fault));
    }

    pub fn clear_faults(&self) {
        self.admin("DELETE", "/_privatelink/faults", None);
    }

    /// The request log as the emulator keeps it (with `injected` and `held`
    /// marks).
    pub fn request_log(&self) -> Vec<serde_json::Value> {
        self.admin("GET", "/_privatelink/requests", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Holds the answers of matching calls after moto served them.
    pub fn hold(&self, hold: serde_json::Value) {
        self.admin("POST", "/_privatelink/holds", Some(&hold));
    }

    /// `{"rules": [...], "held": [...]}`: the calls held now.
    pub fn holds(&self) -> serde_json::Value {
        self.admin("GET", "/_privatelink/holds", None)
    }

    pub fn release_holds(&self) {
        self.admin("DELETE", "/_privatelink/holds", None);
    }

    /// Runs tests/emulators/aws/inventory.py: what the onboarding module can
    /// leave in the emulator.
    pub fn inventory(&self, args: &[&str]) -> serde_json::Value {
        self.run_fixture("inventory.py", args)
    }

    /// Runs tests/emulators/aws/fixtures.py and returns its JSON.
    pub fn fixture(&self, args: &[&str]) -> serde_json::Value {
        self.run_fixture("fixtures.py", args)
    }

    /// Runs tests/emulators/aws/s3_fixtures.py and returns its JSON.
    pub fn s3_fixture(&self, args: &[&str]) -> serde_json::Value {
        self.run_fixture("s3_fixtures.py", args)
    }

    /// Runs tests/emulators/aws/redshift_fixtures.py and returns its JSON.
    pub fn redshift_fixture(&self, args: &[&str]) -> serde_json::Value {
        self.run_fixture("redshift_fixtures.py", args)
    }

    fn run_fixture(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let out = Command::new(python())
            .arg(repo().join("tests/emulators/aws").join(script))
            .arg(&self.url)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {script}: {e}"));
        assert!(
            out.status.success(),
            "{script} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("fixture JSON")
    }
}

/// Calls an admin hook of the emulator at `url`.
fn admin_at(
    url: &str,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> serde_json::Value {
    // A tiny HTTP/1.1 client: the admin hooks are plain JSON on loopback.
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");

    let mut s = std::net::TcpStream::connect(addr).expect("connect emulator");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    // A hook that fails must fail the test: read as "nothing", it would
    // let every "no call was made" assertion pass unchecked.
    let (head, payload) = resp
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer from the emulator's {method} {path}: {resp:?}"));
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    assert!(
        status.starts_with('2'),
        "the emulator's {method} {path} answered {head:?}: {payload}"
    );
    serde_json::from_str(payload).unwrap_or_else(|e| {
        panic!("the emulator's {method} {path} answered no JSON ({e}): {payload:?}")
    })
}

/// The IAM action an AWS API call needs. S3 names a few of its actions
/// apart from their calls (AWS's S3 API reference, each call's
/// "permissions" paragraph); the other services name them alike.
fn iam_action(service: &str, call: &str) -> String {
    let action = match (service, call) {
        ("s3", "HeadBucket") => "ListBucket",
        ("s3", "GetBucketCors") => "GetBucketCORS",
        ("s3", "PutBucketCors" | "DeleteBucketCors") => "PutBucketCORS",
        _ => call,
    };
    format!("{service}:{action}")
}

/// Each type's documented actions by operation, read from the generated
/// docs' Permissions tables: `(type, operation word) -> actions`. A data
/// source's read is `read-data`, as the provider's User-Agent names it.
fn documented_permissions() -> std::collections::BTreeMap<(String, String), Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    for (dir, data_source) in [("docs/resources", false), ("docs/data-sources", true)] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("docs folder") {
            let path = entry.expect("docs entry").path();
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            let type_name = format!("privatelink_{stem}");
            let text = std::fs::read_to_string(&path).expect("docs page");
            let section = text
                .split("\n## Permissions\n")
                .nth(1)
                .unwrap_or_else(|| panic!("{} has no Permissions section", path.display()));
            let section = section.split("\n## ").next().unwrap_or_default();
            for row in section.lines().filter(|l| l.starts_with("| ")) {
                let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
                let [label, _, actions] = cells[..] else {
                    continue;
                };
                if label == "Operation" {
                    continue;
                }
                let op = match (label, data_source) {
                    ("Read", true) => "read-data".to_string(),
                    (l, _) => l.to_lowercase(),
                };
                let actions: Vec<String> = actions
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect();
                out.insert((type_name.clone(), op), actions);
            }
        }
    }
    out
}

/// Every call the provider made (its User-Agent names it, and the resource
/// and operation the call was for) is one the docs list for that resource
/// and operation. Credential calls are the provider's own: GetCallerIdentity
/// needs no permission, and AssumeRole is granted on the role.
pub fn assert_calls_documented(log: &serde_json::Value) {
    let documented = documented_permissions();
    let mut undocumented = std::collections::BTreeSet::new();
    for call in log.as_array().expect("request log") {
        let agent = call["user_agent"].as_str().unwrap_or_default();
        if !agent.contains("app/terraform-provider-privatelink") {
            continue; // A fixture's call.
        }
        let action = iam_action(
            call["service"].as_str().unwrap_or_default(),
            call["action"].as_str().unwrap_or_default(),
        );
        if action == "sts:GetCallerIdentity" {
            continue;
        }
        let metadata = |key: &str| {
            agent
                .split(' ')
                .find_map(|part| part.strip_prefix(&format!("md/{key}#")))
                .map(str::to_string)
        };
        let (Some(type_name), Some(op)) = (metadata("tf-resource"), metadata("tf-operation"))
        else {
            if action != "sts:AssumeRole" {
                undocumented.insert(format!("{action} made for no resource ({agent})"));
            }
            continue;
        };
        // Every command that changes, imports or plans an object refreshes
        // and plans it first, so those rows' actions are needed (and
        // documented as needed) by them all; a data source only reads.
        let rows: &[&str] = if op == "read-data" {
            &[]
        } else {
            &["read", "plan"]
        };
        let listed = |row: &str| {
            documented
                .get(&(type_name.clone(), row.to_string()))
                .is_some_and(|l| l.contains(&action))
        };
        if !listed(&op) && !rows.iter().any(|row| listed(row)) {
            undocumented.insert(format!("{type_name} {op}: {action}"));
        }
    }
    assert!(
        undocumented.is_empty(),
        "AWS calls the docs' Permissions sections do not list (declare them in the type's PERMISSIONS and run `make docs`):\n  {}",
        undocumented.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}
