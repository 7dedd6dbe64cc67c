//! Drives the real `terraform` CLI against the freshly built provider,
//! installed into a filesystem mirror the way a user's `terraform init`
//! would find a released one.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub const SOURCE: &str = "registry.terraform.io/privatelink/privatelink";
const VERSION: &str = "0.1.0";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Terraform the project's setup chose (`make test` runs setup first).
pub fn terraform() -> PathBuf {
    if let Ok(t) = std::env::var("TERRAFORM") {
        return PathBuf::from(t);
    }
    let tools = repo_root().join(".tools/bin/terraform");
    if tools.exists() {
        return tools;
    }
    PathBuf::from("terraform")
}

/// The pinned oldest supported Terraform (1.0.3), when setup installed it.
pub fn pinned_terraform() -> Option<PathBuf> {
    let p = repo_root().join(".tools/terraform-1.0.3");
    p.exists().then_some(p)
}

/// Every distinct Terraform available: the chosen one, and the pinned 1.0.3.
pub fn all_terraforms() -> Vec<PathBuf> {
    let mut all = vec![terraform()];
    if let Some(p) = pinned_terraform() {
        let same = std::fs::canonicalize(&p).ok() == std::fs::canonicalize(&all[0]).ok();
        if !same {
            all.push(p);
        }
    }
    all
}

/// A filesystem mirror holding the built provider, one per test binary
/// under the target directory (overwritten, so runs leave nothing behind
/// in the system temp directory).
fn mirror() -> &'static Path {
    static MIRROR: OnceLock<PathBuf> = OnceLock::new();
    MIRROR.get_or_init(|| {
        let suite = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".to_owned());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("mirror-{suite}"));
        let pkg = dir.join(SOURCE).join(VERSION).join("linux_amd64");
        std::fs::create_dir_all(&pkg).expect("create mirror");
        let bin = pkg.join(format!("terraform-provider-privatelink_v{VERSION}"));
        // Copy then rename: a Terraform still running from an earlier run
        // of this suite keeps its file, and never sees a half-written one.
        let partial = pkg.join(format!(".partial-{}", std::process::id()));
        std::fs::copy(
            env!("CARGO_BIN_EXE_terraform-provider-privatelink"),
            &partial,
        )
        .expect("copy provider");
        std::fs::rename(&partial, &bin).expect("place provider");
        dir
    })
}

/// Terraform wraps diagnostic details at its terminal width: messages are
/// compared with every run of whitespace folded into one space.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Longer than any one command of the suites takes (the longest, a fault
/// run's apply, takes well under a minute).
const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether `text` holds `summary` ("1 to change, 0 to destroy") as whole
/// counts: not inside "11 to change, 0 to destroy", say.
pub fn says_counts(text: &str, summary: &str) -> bool {
    text.match_indices(summary).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub struct Workspace {
    pub dir: tempfile::TempDir,
    terraform: PathBuf,
    env: Vec<(String, String)>,
    /// Run after each successful `destroy()`: checks of what the run did
    /// beyond its own outcome (the calls it made, say).
    after_destroy: Vec<Box<dyn Fn() + Send + Sync>>,
}

impl Workspace {
    pub fn new(main_tf: &str) -> Workspace {
        Workspace::with_terraform(terraform(), main_tf)
    }

    pub fn with_terraform(terraform: PathBuf, main_tf: &str) -> Workspace {
        let dir = tempfile::Builder::new()
            .prefix("privatelink-e2e-")
            .tempdir()
            .expect("tempdir");
        let cli_config = format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [{:?}]\n  }}\n  direct {{\n    exclude = [{:?}]\n  }}\n}}\n",
            mirror().display().to_string(),
            SOURCE,
            SOURCE
        );
        std::fs::write(dir.path().join("cli.tfrc"), cli_config).expect("cli config");
        std::fs::write(dir.path().join("main.tf"), main_tf).expect("main.tf");
        Workspace {
            dir,
            terraform,
            env: Vec::new(),
            after_destroy: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The temp directory Terraform and the provider run with.
    fn scratch(&self) -> PathBuf {
        let dir = self.path().join("tmp");
        std::fs::create_dir_all(&dir).expect("workspace temp dir");
        dir
    }

    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("write file");
    }

    pub fn check_after_destroy(&mut self, check: impl Fn() + Send + Sync + 'static) {
        self.after_destroy.push(Box::new(check));
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.to_string(), value.to_string()));
    }

    /// Runs terraform, killing it after `COMMAND_TIMEOUT`: a command that
    /// hangs fails its test, naming the command, instead of holding CI to
    /// its own time limit.
    pub fn run(&self, args: &[&str]) -> Output {
        use std::io::Read;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.terraform.display()));
        let drain = |mut r: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
        let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
        let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for terraform") {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let out = Output {
            code: status.and_then(|s| s.code()).unwrap_or(-1),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        };
        assert!(
            status.is_some(),
            "terraform {} did not finish within {COMMAND_TIMEOUT:?}:\n{}",
            args.join(" "),
            out.all()
        );
        out
    }

    /// The command `run` would run, not started: for a test that must act
    /// while Terraform runs (e.g. kill the provider it started).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.terraform);
        cmd.args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_LOG_PATH")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            // The provider's socket directory lands in the workspace and goes
            // with it, even when a test kills the provider before it can
            // remove the directory itself.
            .env("TMPDIR", self.scratch());
        // The host's AWS, Snowflake and Terraform settings must not leak
        // into tests (nor its ~/.aws files: tests that need shared files
        // write their own).
        for (k, _) in std::env::vars() {
            if k.starts_with("AWS_")
                || k.starts_with("SNOWFLAKE_")
                || k.starts_with("TF_CLI_ARGS")
                || k == "TF_DATA_DIR"
                || k == "TF_WORKSPACE"
            {
                cmd.env_remove(k);
            }
        }
        let none = self.scratch().join("no-such-aws-file");
        cmd.env("AWS_CONFIG_FILE", &none)
            .env("AWS_SHARED_CREDENTIALS_FILE", &none);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts `args` in a process group of its own, as a terminal runs a
    /// job, and returns once `ready` says so (polled; at most a minute), for
    /// a test to act while Terraform runs: interrupt it, kill its provider.
    /// Terraform ending first fails the test with its output; `awaited`
    /// says what was waited for when a minute passes.
    #[allow(dead_code)]
    pub fn started_until(
        &self,
        args: &[&str],
        mut ready: impl FnMut() -> bool,
        awaited: impl Fn() -> String,
    ) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        use std::time::{Duration, Instant};
        let mut child = self
            .command(args)
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start terraform");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() {
            if let Ok(Some(status)) = child.try_wait() {
                let out = child.wait_with_output().expect("terraform output");
                panic!(
                    "terraform ended ({status}) before {}:\n{}\n{}",
                    awaited(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert!(Instant::now() < deadline, "never {}", awaited());
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Runs `args`, and once `ready` says so, interrupts Terraform as Ctrl-C
    /// in a terminal does (SIGINT to its process group, the provider
    /// included; Terraform 1.0 forwards none from its wrapper process): its
    /// output, and the time from the interrupt to its exit.
    #[allow(dead_code)]
    pub fn interrupted(
        &self,
        args: &[&str],
        ready: impl FnMut() -> bool,
    ) -> (Output, std::time::Duration) {
        let child = self.started_until(args, ready, || "the moment to interrupt it".into());
        let interrupted = std::time::Instant::now();
        let sent = Command::new("kill")
            .args(["-INT", "--", &format!("-{}", child.id())])
            .status()
            .expect("run kill");
        assert!(sent.success());
        let out = child.wait_with_output().expect("terraform output");
        let took = interrupted.elapsed();
        (
            Output {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            },
            took,
        )
    }

    /// Runs a command that must succeed, failing the test with its output.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.code,
            0,
            "terraform {} failed:\n{}",
            args.join(" "),
            out.all()
        );
        out
    }

    /// `terraform plan`, which must succeed and sum up as `summary` (e.g.
    /// "1 to add, 0 to change, 0 to destroy"); its output, for more checks.
    pub fn plan_says(&self, summary: &str) -> Output {
        let plan = self.ok(&["plan", "-no-color", "-input=false"]);
        assert!(says_counts(&plan.stdout, summary), "{}", plan.stdout);
        plan
    }

    /// One in-place update whose plan never mentions `absent` (`why` says
    /// what that shows), applied, after which the plan is empty.
    pub fn updates_in_place_without(&self, absent: &str, why: &str) {
        let plan = self.plan_says("0 to add, 1 to change, 0 to destroy");
        assert!(!plan.stdout.contains(absent), "{why}:\n{}", plan.stdout);
        self.apply();
        self.assert_plan_empty();
    }

    /// `terraform apply`, which must succeed and sum up as `summary` (e.g.
    /// "1 added, 0 changed, 0 destroyed"); its output, for more checks.
    pub fn apply_says(&self, summary: &str) -> Output {
        let applied = self.apply();
        assert!(says_counts(&applied.stdout, summary), "{}", applied.stdout);
        applied
    }

    /// `terraform apply -refresh-only`: state takes what is there now.
    pub fn refresh(&self) -> Output {
        self.ok(&[
            "apply",
            "-refresh-only",
            "-auto-approve",
            "-no-color",
            "-input=false",
        ])
    }

    /// The Terraform version running here, as (major, minor).
    pub fn terraform_version(&self) -> (u64, u64) {
        let out = self.ok(&["version", "-json"]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("version -json");
        let text = v["terraform_version"].as_str().unwrap_or_default();
        let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    pub fn init(&self) -> Output {
        self.ok(&["init", "-no-color", "-input=false"])
    }

    pub fn apply(&self) -> Output {
        self.ok(&["apply", "-no-color", "-input=false", "-auto-approve"])
    }

    /// `terraform apply -replace=ADDRESS`, which must succeed.
    pub fn apply_replacing(&self, address: &str) -> Output {
        self.ok(&[
            "apply",
            "-no-color",
            "-input=false",
            "-auto-approve",
            &format!("-replace={address}"),
        ])
    }

    /// Replaces `address` with its arguments unchanged, as users do: `how`
    /// is "-replace" (`apply -replace`) or "taint" (then an apply).
    #[allow(dead_code)]
    pub fn replace_by(&self, how: &str, address: &str) {
        match how {
            "-replace" => {
                self.apply_replacing(address);
            }
            "taint" => {
                self.ok(&["taint", "-no-color", address]);
                self.apply();
            }
            other => panic!("no way to replace called {other:?}"),
        }
    }

    pub fn destroy(&self) -> Output {
        let out = self.ok(&["destroy", "-no-color", "-input=false", "-auto-approve"]);
        for check in &self.after_destroy {
            check();
        }
        out
    }

    /// Asserts a plan after apply is empty (HashiCorp's harness: "After
    /// applying this step, the plan was not empty").
    pub fn assert_plan_empty(&self) {
        let out = self.run(&[
            "plan",
            "-no-color",
            "-input=false",
            "-detailed-exitcode",
            "-out=unexpected.tfplan",
        ]);
        if out.code != 0 {
            // The rendered plan hides what Terraform deems unchanged; the
            // JSON shows every attribute's before and after.
            let json = self.run(&["show", "-no-color", "-json", "unexpected.tfplan"]);
            panic!(
                "After applying, the plan was not empty:\n{}\nresource changes: {}",
                out.all(),
                serde_json::from_str::<serde_json::Value>(&json.stdout)
                    .map(|v| v["resource_changes"].to_string())
                    .unwrap_or(json.stdout)
            );
        }
    }

    pub fn outputs(&self) -> serde_json::Value {
        let out = self.ok(&["output", "-no-color", "-json"]);
        serde_json::from_str(&out.stdout).expect("output -json")
    }

    pub fn state(&self) -> serde_json::Value {
        let out = self.ok(&["show", "-no-color", "-json"]);
        serde_json::from_str(&out.stdout).expect("show -json")
    }

    /// The attribute values of the first resource of `resource_type` in
    /// `terraform show -json`.
    pub fn resource_values(&self, resource_type: &str) -> serde_json::Value {
        let state = self.state();
        state["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["type"] == resource_type))
            .map(|r| r["values"].clone())
            .unwrap_or_else(|| panic!("no {resource_type} in state: {state}"))
    }
}
