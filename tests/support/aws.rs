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
        let services = ["ec2", "iam", "redshift", "s3", "sts"];
        let endpoints: Vec<String> = services
            .iter()
            .map(|s| format!("    {s} = {:?}", self.url))
            .collect();
        format!(
            "provider \"privatelink\" {{\n  region = {REGION:?}\n  endpoints {{\n{}\n  }}\n}}\n",
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
        // A tiny HTTP/1.1 client: the admin hooks are plain JSON on loopback.
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
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
        let (head, payload) = resp.split_once("\r\n\r\n").unwrap_or_else(|| {
            panic!("no HTTP answer from the emulator's {method} {path}: {resp:?}")
        });
        let status = head.split_whitespace().nth(1).unwrap_or_default();
        assert!(
            status.starts_with('2'),
            "the emulator's {method} {path} answered {head:?}: {payload}"
        );
        serde_json::from_str(payload).unwrap_or_else(|e| {
            panic!("the emulator's {method} {path} answered no JSON ({e}): {payload:?}")
        })
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

    pub fn clear_requests(&self) {
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
