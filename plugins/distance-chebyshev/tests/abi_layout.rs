//! `include/needle_plugin.h` and needle-core's `plugin::abi` must describe the same bytes:
//! compile a C program that prints every size and offset the Rust side reports, and compare.

use std::process::Command;

#[test]
fn c_header_and_rust_abi_agree() {
    let report = needle_core::plugin::abi::layout_report();
    let mut c =
        String::from("#include \"needle_plugin.h\"\n#include <stddef.h>\n#include <stdio.h>\nint main(void) {\n");
    for (name, _) in &report {
        let expr = match name.split_once('.') {
            Some((ty, field)) => format!("offsetof({ty}, {field})"),
            None => format!("sizeof({name})"),
        };
        c.push_str(&format!("    printf(\"%s %zu\\n\", \"{name}\", (size_t){expr});\n"));
    }
    c.push_str("    printf(\"abi %d\\n\", NEEDLE_PLUGIN_ABI_VERSION);\n    return 0;\n}\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("layout.c"), c).unwrap();
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/../../include");
    let exe = dir.path().join("layout");
    let out = Command::new("cc")
        .args(["-std=c11", "-Wall", "-Werror", "-I", include])
        .arg(dir.path().join("layout.c"))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(Command::new(&exe).output().unwrap().stdout).unwrap();
    let mut lines = printed.lines();
    for (name, rust) in &report {
        let line = lines.next().unwrap();
        assert_eq!(line, format!("{name} {rust}"), "C and Rust disagree");
    }
    assert_eq!(lines.next().unwrap(), format!("abi {}", needle_core::plugin::abi::NEEDLE_PLUGIN_ABI_VERSION));
}
