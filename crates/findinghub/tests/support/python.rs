//! What the tests that drive Python share: the repository's paths, a command's output for
//! failure messages, and the pinned virtual environments under the target directory.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn python_dir() -> PathBuf {
    repo_root().join("tests/python")
}

pub fn shown(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust releases (std's does not promise to).
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain(&[0xff]) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) { venv.join("Scripts").join("python.exe") } else { venv.join("bin").join("python") }
}

/// A virtual environment under the target directory with the pins of `tests/python/<requirements>`,
/// named `<name>-<hash of the pins and the interpreter>`: made once, reused while neither changes.
/// Installed with uv (itself pinned in `tests/python/uv-requirements.txt` and installed by pip): it
/// installs Prowler's 270 pinned packages in under a minute where pip took a quarter of an hour.
pub fn make_venv(requirements: &str, name: &str) -> PathBuf {
    let base = base_python();
    let uv = uv_binary();
    made_once(requirements, name, |venv, requirements| {
        let made = Command::new(&uv)
            .args(["venv", "--quiet", "--python"])
            .arg(&base)
            .arg(venv)
            .env_remove("VIRTUAL_ENV")
            .output()
            .expect("run uv venv");
        assert!(made.status.success(), "uv venv {} failed:\n{}", venv.display(), shown(&made));
        let installed = Command::new(&uv)
            .args(["pip", "install", "--quiet", "--python"])
            .arg(venv_python(venv))
            .arg("-r")
            .arg(requirements)
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .output()
            .expect("run uv pip install");
        assert!(
            installed.status.success(),
            "uv pip install -r {} failed:\n{}",
            requirements.display(),
            shown(&installed)
        );
    })
}

fn base_python() -> String {
    std::env::var("FINDINGHUB_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// uv, in a venv of its own made with the interpreter's pip (one wheel, a few seconds).
fn uv_binary() -> PathBuf {
    let venv_python = made_once("uv-requirements.txt", "uv", |venv, requirements| {
        let base = base_python();
        let made = Command::new(&base).args(["-m", "venv"]).arg(venv).output().expect("run python -m venv");
        let python = venv_python(venv);
        if !made.status.success() {
            // A Python without ensurepip (Debian's without python3-venv): a venv without pip, filled by
            // the interpreter's own pip.
            let _ = fs::remove_dir_all(venv);
            let bare = Command::new(&base).args(["-m", "venv", "--without-pip"]).arg(venv).output();
            let bare = bare.expect("run python -m venv --without-pip");
            assert!(bare.status.success(), "python -m venv failed:\n{}\n{}", shown(&made), shown(&bare));
        }
        let mut pip =
            Command::new(if made.status.success() { python.as_os_str() } else { std::ffi::OsStr::new(&base) });
        if made.status.success() {
            pip.args(["-m", "pip"]);
        } else {
            pip.args(["-m", "pip", "--python"]).arg(&python);
        }
        let installed = pip
            .args(["install", "--quiet", "--disable-pip-version-check", "--no-input", "-r"])
            .arg(requirements)
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .output()
            .expect("run pip");
        assert!(installed.status.success(), "pip install -r {} failed:\n{}", requirements.display(), shown(&installed));
    });
    let bin = venv_python.parent().expect("the venv's bin directory").join(if cfg!(windows) { "uv.exe" } else { "uv" });
    assert!(bin.exists(), "uv is not in its venv: {}", bin.display());
    bin
}

/// The venv `<name>-<key>` for these pins and this interpreter, filled by `fill` the first time and
/// marked ready; a half-made one (an interrupted run) is made again.
fn made_once(requirements: &str, name: &str, fill: impl FnOnce(&Path, &Path)) -> PathBuf {
    let base = base_python();
    let requirements = python_dir().join(requirements);
    let pins = fs::read(&requirements).unwrap_or_else(|e| panic!("read {}: {e}", requirements.display()));
    let version = Command::new(&base)
        .args(["-c", "import sys; print(sys.version)"])
        .output()
        .unwrap_or_else(|e| panic!("`{base}` cannot be run ({e}): the Python client tests need Python 3.11 and pip"));
    assert!(version.status.success(), "`{base}` fails:\n{}", shown(&version));
    let key = fnv1a(&[&pins, &version.stdout, base.as_bytes()]);

    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(&root).expect("create the target's tmp dir");
    let venv = root.join(format!("{name}-{key:016x}"));
    let marker = venv.join(".findinghub-ready");
    // One maker at a time, also across concurrent `cargo test` runs.
    let lock = File::create(root.join(format!("{name}-{key:016x}.lock"))).expect("create the venv lock file");
    lock.lock().expect("lock the venv");
    if marker.exists() {
        return venv_python(&venv);
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).expect("remove a half-made venv");
    }
    let started = Instant::now();
    fill(&venv, &requirements);
    fs::write(&marker, format!("{key:016x}\n")).expect("mark the venv ready");
    eprintln!("made the Python venv {} in {:.1?}", venv.display(), started.elapsed());
    venv_python(&venv)
}
