//! Gives libneedle.so the SONAME `libneedle.so.<major>`, so programs record which ABI they were
//! linked against and versions can sit side by side. (Symbol versions come from `needle.map`,
//! applied by `install.sh` when it links the installed library: rustc passes its own anonymous
//! version script for a cdylib, and linkers refuse to combine it with a named version node.)

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libneedle.so.{major}");
}
