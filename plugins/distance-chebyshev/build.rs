//! Compiles chebyshev.c into a shared library in OUT_DIR and exports its path to the crate as
//! `NEEDLE_CHEBYSHEV_SO`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("libneedle_chebyshev.so");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-I"])
        .arg(dir.join("../../include"))
        .arg(dir.join("chebyshev.c"))
        .arg("-o")
        .arg(&out)
        .arg("-lm")
        .status()
        .unwrap_or_else(|e| panic!("running {cc}: {e}"));
    assert!(status.success(), "compiling chebyshev.c failed");
    println!("cargo:rustc-env=NEEDLE_CHEBYSHEV_SO={}", out.display());
    println!("cargo:rerun-if-changed=chebyshev.c");
    println!("cargo:rerun-if-changed=../../include/needle_plugin.h");
    println!("cargo:rerun-if-env-changed=CC");
}
