//! The Snowflake emulator (tests/emulators/snowflake/server.py), started per
//! test on a free loopback port and stopped with it; RSA key pairs made by
//! the emulator venv's `cryptography`; accounts and users registered through
//! the emulator's admin hooks; and SQL as a user with a programmatic access
//! token, to change things out of band.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::process::Command;

use super::aws::{python, repo};

/// An RSA key pair as PEM: the private key PKCS#8 (encrypted with PBES2
/// AES-256-CBC when a passphrase was given), the public key
/// SubjectPublicKeyInfo.
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
    pub passphrase: Option<String>,
}

impl KeyPair {
    /// The base64 lines of the private key's PEM body: what a leak of the
    /// key would show, whole or line by line.
    pub fn body_lines(&self) -> Vec<String> {
        self.private_pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .map(str::to_string)
            .collect()
    }
}

const KEYGEN: &str = r#"
import json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pw = sys.argv[1] if len(sys.argv) > 1 else ""
enc = serialization.BestAvailableEncryption(pw.encode()) if pw else serialization.NoEncryption()
print(json.dumps({
    "private_pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc).decode(),
    "public_pem": key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
}))
"#;

pub fn key_pair(passphrase: Option<&str>) -> KeyPair {
    let mut cmd = Command::new(python());
    cmd.args(["-c", KEYGEN]);
    if let Some(p) = passphrase {
        cmd.arg(p);
    }
    let out = cmd.output().expect("run the key generator");
    assert!(
        out.status.success(),
        "key generation failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("key JSON");
    KeyPair {
        private_pem: v["private_pem"].as_str().unwrap().to_string(),
        public_pem: v["public_pem"].as_str().unwrap().to_string(),
        passphrase: passphrase.map(str::to_string),
    }
}

pub struct Snowflake {
    pub url: String,
    _server: super::aws::Server,
}

/// A user to register: login name, public key, granted roles, PATs.
pub struct User<'a> {
    pub name: &'a str,
    pub public_pem: Option<&'a str>,
    pub roles: &'a [&'a str],
    pub tokens: &'a [&'a str],
}

impl Snowflake {
    pub fn start() -> Snowflake {
        let server = super::aws::Server::start("snowflake/server.py");
        Snowflake {
            url: server.url.clone(),
            _server: server,
        }
    }

    /// A tiny HTTP/1.1 exchange with the emulator: (status, JSON body).
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect emulator");
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        write!(s, "{head}\r\n{body}").expect("write");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let payload = resp.split("\r\n\r\n").nth(1).unwrap_or("null");
        (status, serde_json::from_str(payload).unwrap_or(Value::Null))
    }

    fn admin(&self, method: &str, what: &str, body: Option<&Value>) -> Value {
        let (status, v) = self.http(method, &format!("/_privatelink/{what}"), &[], body);
        assert_eq!(status, 200, "admin {method} {what}: {v}");
        v
    }

    /// Creates (or replaces) an account with its users, whose PrivateLink
    /// config names `endpoint_service_id`.
    pub fn add_account(
        &self,
        account: &str,
        locator: &str,
        endpoint_service_id: &str,
        users: &[User<'_>],
    ) {
        let users: Vec<Value> = users
            .iter()
            .map(|u| {
                json!({
                    "name": u.name,
                    "public_key_pem": u.public_pem,
                    "default_role": u.roles.first().copied().unwrap_or("PUBLIC"),
                    "roles": u.roles,
                    "tokens": u.tokens,
                })
            })
            .collect();
        self.admin(
            "POST",
            "accounts",
            Some(&json!({
                "account": account, "locator": locator, "region": "us-east-1",
                "endpoint_service_id": endpoint_service_id, "users": users,
            })),
        );
    }

    /// Every registration in every account, with times and token digests.
    pub fn registrations(&self) -> Vec<Value> {
        self.admin("GET", "registrations", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn registrations_of(&self, account: &str) -> Vec<Value> {
        self.registrations()
            .into_iter()
            .filter(|r| r["account"] == account)
            .collect()
    }

    /// The request log: account, user, statement_kind, status, flags.
    pub fn requests(&self) -> Vec<Value> {
        self.admin("GET", "requests", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        self.admin("DELETE", "requests", None);
    }

    /// Requests of one statement kind.
    pub fn requests_of(&self, kind: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["statement_kind"] == kind)
            .collect()
    }

    pub fn fault(&self, fault: Value) {
        self.admin("POST", "faults", Some(&fault));
    }

    pub fn clear_faults(&self) {
        self.admin("DELETE", "faults", None);
    }

    /// Holds the answers of matching statements after they ran.
    pub fn hold(&self, hold: Value) {
        self.admin("POST", "holds", Some(&hold));
    }

    /// `{"rules": [...], "held": [...]}`: the statements held now.
    pub fn holds(&self) -> Value {
        self.admin("GET", "holds", None)
    }

    pub fn release_holds(&self) {
        self.admin("DELETE", "holds", None);
    }

    /// Creates (or replaces) an account whose PrivateLink config names
    /// `endpoint_service_id`, with one key-pair user holding ACCOUNTADMIN.
    pub fn add_account_with_service(
        &self,
        account: &str,
        locator: &str,
        endpoint_service_id: &str,
        user: &str,
        public_pem: &str,
    ) {
        self.admin(
            "POST",
            "accounts",
            Some(&json!({
                "account": account, "locator": locator, "region": "us-east-1",
                "endpoint_service_id": endpoint_service_id,
                "users": [{"name": user, "public_key_pem": public_pem, "roles": ["ACCOUNTADMIN"]}],
            })),
        );
    }

    /// Runs SQL as the user owning `token` (a PAT): (status, response).
    pub fn sql(&self, token: &str, statement: &str, bindings: Value) -> (u16, Value) {
        let auth = format!("Bearer {token}");
        self.http(
            "POST",
            "/api/v2/statements",
            &[
                ("Authorization", &auth),
                ("X-Snowflake-Authorization-Token-Type", "PROGRAMMATIC_ACCESS_TOKEN"),
                ("User-Agent", "e2e-tests/1.0"),
            ],
            Some(&json!({"statement": statement, "timeout": 30, "role": "ACCOUNTADMIN", "bindings": bindings})),
        )
    }

    /// Unregisters `vpce` out of band, as someone in a worksheet would, with
    /// a hand-made federation token of the documented shape.
    pub fn unregister(&self, token: &str, vpce: &str, aws_account: &str) {
        let fed = json!({
            "Credentials": {
                "AccessKeyId": "ASIAOUTOFBAND",
                "SecretAccessKey": "out-of-band",
                "SessionToken": "out-of-band",
                "Expiration": "2999-01-01T00:00:00+00:00",
            },
            "FederatedUser": {
                "FederatedUserId": format!("{aws_account}:snowflake"),
                "Arn": format!("arn:aws:sts::{aws_account}:federated-user/snowflake"),
            },
        });
        let (status, body) = self.sql(
            token,
            "SELECT SYSTEM$UNREGISTER_PRIVATELINK_ENDPOINT(?, ?, ?)",
            json!({
                "1": {"type": "TEXT", "value": vpce},
                "2": {"type": "TEXT", "value": aws_account},
                "3": {"type": "TEXT", "value": fed.to_string()},
            }),
        );
        assert_eq!(status, 200, "out-of-band unregister: {body}");
    }

    /// SYSTEM$GET_PRIVATELINK_CONFIG as the emulator answers it.
    pub fn privatelink_config(&self, token: &str) -> Value {
        let (status, body) = self.sql(token, "SELECT SYSTEM$GET_PRIVATELINK_CONFIG()", json!({}));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(body["data"][0][0].as_str().expect("config cell"))
            .expect("config JSON")
    }
}

/// Runs tests/emulators/snowflake/aws_consumer.py against the AWS emulator.
pub fn aws_fixture(aws_url: &str, args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(repo().join("tests/emulators/snowflake/aws_consumer.py"))
        .arg(aws_url)
        .args(args)
        .output()
        .expect("run aws_consumer.py");
    assert!(
        out.status.success(),
        "aws_consumer.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("fixture JSON")
}
