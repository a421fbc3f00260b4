//! moto's server mode, a real AWS API emulator, on 127.0.0.1: the venv it runs from is made
//! once (`<target>/moto-venv`, reused across runs; `.ci/run` makes it before the tests), each
//! server gets a free port and is killed when dropped.

#![allow(dead_code)]

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The moto release the tests are written against.
pub const MOTO_VERSION: &str = "5.2.5";

/// `<target>/moto-venv`: next to the binary under test, so a custom CARGO_TARGET_DIR is honoured.
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TRAILAUDIT_MOTO_VENV") {
        return PathBuf::from(dir);
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_trailaudit"));
    exe.ancestors()
        .nth(2)
        .map(|target| target.join("moto-venv"))
        .unwrap_or_else(|| PathBuf::from("target/moto-venv"))
}

fn installed(venv: &Path) -> bool {
    Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import moto, sys; sys.exit(moto.__version__ != sys.argv[1])",
        ])
        .arg(MOTO_VERSION)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && venv.join("bin/moto_server").exists()
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" | ")
        ))
    }
}

/// The venv with moto, made if needed; the reason when it cannot be.
pub fn venv() -> Result<&'static Path, &'static str> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(|| {
        let venv = venv_dir();
        if installed(&venv) {
            return Ok(venv);
        }
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(Command::new(&python).arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin/python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("moto[server]=={MOTO_VERSION}"),
        ]))?;
        if installed(&venv) {
            Ok(venv)
        } else {
            Err(format!(
                "moto {MOTO_VERSION} is not importable from {}",
                venv.display()
            ))
        }
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(String::as_str)
}

/// A moto server; killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts a server, or says loudly why the test cannot run and returns `None`. With
    /// `TRAILAUDIT_REQUIRE_MOTO=1` (CI), a missing moto is a failure instead.
    pub fn start() -> Option<Moto> {
        let venv = match venv() {
            Ok(v) => v,
            Err(reason) => {
                if std::env::var_os("TRAILAUDIT_REQUIRE_MOTO").is_some_and(|v| v == "1") {
                    panic!("moto is required (TRAILAUDIT_REQUIRE_MOTO=1) but: {reason}");
                }
                // Straight to stderr: libtest captures eprintln! of passing tests.
                let _ = writeln!(
                    std::io::stderr(),
                    "\n{}\nSKIPPED: moto (the AWS API emulator) could not be installed, so this \
                     test of `trailaudit collect` did NOT run.\nReason: {reason}\n{}",
                    "!".repeat(78),
                    "!".repeat(78)
                );
                return None;
            }
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(venv.join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// From now on moto checks every request's signature and IAM permissions
    /// (`POST /moto-api/reset-auth` with 0 unauthenticated requests left).
    pub fn enforce_iam(&self) {
        use std::io::{Read, Write};
        let host = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(host).expect("connect to moto");
        write!(
            s,
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n\
             Content-Length: 1\r\nConnection: close\r\n\r\n0"
        )
        .unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "reset-auth: {answer}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
