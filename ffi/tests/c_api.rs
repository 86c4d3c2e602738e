//! Compiles every `tests/c/*.c` against `include/needle.h` with gcc, links it to the freshly
//! built `libneedle.so`, and runs it — directly and under valgrind (memcheck: no errors, no
//! definite or indirect leaks). Also checks that the C tests call every function in the header.
//!
//! valgrind is required when `CI` is set; elsewhere its absence is reported and that part skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The directory holding a fresh `libneedle.so`. Cargo does not build a cdylib-only library
/// for integration tests, so this builds it (same `test` profile, so nothing else rebuilds).
fn lib_dir() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .args(["build", "--quiet", "--profile", "test", "-p", "needle-ffi", "--lib"])
                .current_dir(root())
                .output()
                .expect("cargo runs");
            assert!(out.status.success(), "building libneedle.so failed:\n{}", String::from_utf8_lossy(&out.stderr));
            let exe = std::env::current_exe().unwrap();
            let deps = exe.parent().unwrap().to_path_buf();
            let up = deps.parent().unwrap().to_path_buf();
            [deps, up]
                .into_iter()
                .find(|d| d.join("libneedle.so").exists())
                .unwrap_or_else(|| panic!("libneedle.so not found next to {}", exe.display()))
        })
        .clone()
}

fn c_tests() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("ffi/tests/c"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    v.sort();
    v
}

fn compile(src: &Path, out_dir: &Path) -> PathBuf {
    let exe = out_dir.join(src.file_stem().unwrap());
    let lib = lib_dir();
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1"])
        .arg("-I")
        .arg(root().join("include"))
        .arg(src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lneedle", "-lm", "-lpthread"])
        .output()
        .expect("gcc runs");
    assert!(status.status.success(), "gcc failed on {}:\n{}", src.display(), String::from_utf8_lossy(&status.stderr));
    exe
}

/// The C plugin (plugins/distance-chebyshev), compiled here so the C test can load it through the
/// config string.
fn c_plugin(out_dir: &Path) -> PathBuf {
    let so = out_dir.join("libneedle_chebyshev.so");
    let out = Command::new("gcc")
        .args(["-O2", "-std=c11", "-shared", "-fPIC", "-I"])
        .arg(root().join("include"))
        .arg(root().join("plugins/distance-chebyshev/chebyshev.c"))
        .arg("-o")
        .arg(&so)
        .arg("-lm")
        .output()
        .expect("gcc runs");
    assert!(out.status.success(), "building the C plugin failed:\n{}", String::from_utf8_lossy(&out.stderr));
    so
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{what}: {}", stdout.trim());
    assert!(out.status.success(), "{what} failed ({}):\n{stdout}\n{stderr}", out.status);
}

#[test]
fn c_tests_pass_natively_and_under_valgrind() {
    let tmp = tempfile::tempdir().unwrap();
    let valgrind = Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success());
    if !valgrind {
        assert!(std::env::var_os("CI").is_none(), "valgrind is required in CI (apt-get install valgrind)");
        eprintln!("valgrind not installed: running the C tests natively only");
    }
    let plugin = c_plugin(tmp.path());
    for src in c_tests() {
        let exe = compile(&src, tmp.path());
        let scratch = tmp.path().join(format!("{}-native", src.file_stem().unwrap().to_string_lossy()));
        std::fs::create_dir_all(&scratch).unwrap();
        run(Command::new(&exe).arg(&scratch).arg(&plugin), &format!("{} (native)", src.display()));
        if valgrind {
            let scratch = tmp.path().join(format!("{}-valgrind", src.file_stem().unwrap().to_string_lossy()));
            std::fs::create_dir_all(&scratch).unwrap();
            run(
                Command::new("valgrind")
                    .args([
                        "--error-exitcode=3",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect",
                        "--show-leak-kinds=definite,indirect",
                        "--quiet",
                    ])
                    .arg(&exe)
                    .arg(&scratch)
                    .arg(&plugin),
                &format!("{} (valgrind)", src.display()),
            );
        }
    }
}

#[test]
fn c_tests_call_every_exported_function() {
    let header = std::fs::read_to_string(root().join("include/needle.h")).unwrap();
    // Function declarations start at column 0 with their return type: `needle_status needle_x(`.
    let exported: Vec<String> = header
        .lines()
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && !l.starts_with("typedef"))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("needle_").then(|| name.to_string())
        })
        .collect();
    assert!(exported.len() > 20, "parsed only {exported:?}");
    let mut sources = String::new();
    for src in c_tests() {
        sources.push_str(&std::fs::read_to_string(src).unwrap());
    }
    let missing: Vec<&String> = exported.iter().filter(|f| !sources.contains(&format!("{f}("))).collect();
    assert!(missing.is_empty(), "exported but never called by tests/c/*.c: {missing:?}");
}

/// The strict flags a C or C++ program may build with: the headers must not warn under them.
const STRICT: [&str; 6] = ["-Wall", "-Wextra", "-Wredundant-decls", "-pedantic", "-Werror", "-fsyntax-only"];

#[test]
fn headers_compile_cleanly_as_c99_and_cpp11() {
    let tmp = tempfile::tempdir().unwrap();
    // Both headers, needle.h twice (include guard), and a use of a function, a macro and a struct.
    let src = "#include \"needle.h\"\n#include \"needle.h\"\n#include \"needle_plugin.h\"\n\
               int main(void) {\n  needle_hits h = {0, 0};\n  (void)h;\n  \
               return needle_abi_version() == NEEDLE_ABI_VERSION ? 0 : 1;\n}\n";
    for (compiler, std, name) in [("gcc", "-std=c99", "strict.c"), ("g++", "-std=c++11", "strict.cc")] {
        let file = tmp.path().join(name);
        std::fs::write(&file, src).unwrap();
        let out = Command::new(compiler)
            .arg(std)
            .args(STRICT)
            .arg("-I")
            .arg(root().join("include"))
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("{compiler} runs: {e}"));
        assert!(
            out.status.success(),
            "include/needle.h does not compile cleanly with {compiler} {std} {}:\n{}",
            STRICT.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
