//! Compiles every `tests/c/*.c` against `include/needle.h` with gcc, links it to the freshly
//! built `libneedle.so`, and runs it — directly, built with AddressSanitizer (when gcc has it) and
//! under valgrind (memcheck: no errors, no definite or indirect leaks; `ffi/valgrind.supp` names
//! the worker pool's thread-local blocks). Also checks that the C tests call every function in the header.
//!
//! valgrind is required when `CI` is set; elsewhere its absence is reported and that part skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The directory holding a fresh `libneedle.so`. Cargo does not build a cdylib-only library
/// for integration tests, so this builds it (same `test` profile, so nothing else rebuilds), and
/// links `libneedle.so.0` (its SONAME) to it.
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
            let dir = [deps, up]
                .into_iter()
                .find(|d| d.join("libneedle.so").exists())
                .unwrap_or_else(|| panic!("libneedle.so not found next to {}", exe.display()));
            // Programs linked against it ask for its SONAME at run time (see build.rs).
            let soname = dir.join("libneedle.so.0");
            let _ = std::fs::remove_file(&soname);
            std::os::unix::fs::symlink("libneedle.so", &soname).expect("symlink libneedle.so.0");
            dir
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

fn compile(src: &Path, out_dir: &Path, extra: &[&str]) -> PathBuf {
    let suffix = if extra.is_empty() { "" } else { "-asan" };
    let exe = out_dir.join(format!("{}{suffix}", src.file_stem().unwrap().to_string_lossy()));
    let lib = lib_dir();
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1"])
        .args(extra)
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

// gcc's truncation analysis sees different ranges with the sanitizers on; it is not what this run checks.
const ASAN: [&str; 3] = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-Wno-format-truncation"];

/// Whether gcc can build and run an AddressSanitizer program here (libasan installed).
fn asan_available(dir: &Path) -> bool {
    let src = dir.join("asan-probe.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    let exe = dir.join("asan-probe");
    let built = Command::new("gcc").args(ASAN).arg(&src).arg("-o").arg(&exe).output().is_ok_and(|o| o.status.success());
    let ok = built && Command::new(&exe).output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("AddressSanitizer unavailable: the C tests run natively and under valgrind only");
    }
    ok
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
    let asan = asan_available(tmp.path());
    let plugin = c_plugin(tmp.path());
    for src in c_tests() {
        let exe = compile(&src, tmp.path(), &[]);
        let scratch = tmp.path().join(format!("{}-native", src.file_stem().unwrap().to_string_lossy()));
        std::fs::create_dir_all(&scratch).unwrap();
        run(Command::new(&exe).arg(&scratch).arg(&plugin), &format!("{} (native)", src.display()));
        if asan {
            // AddressSanitizer on the C side: catches reads past the ends of Needle's result blocks
            // and use after free (the library's allocations go through the intercepted malloc).
            let exe = compile(&src, tmp.path(), &ASAN);
            let scratch = tmp.path().join(format!("{}-asan-scratch", src.file_stem().unwrap().to_string_lossy()));
            std::fs::create_dir_all(&scratch).unwrap();
            run(
                Command::new(&exe).arg(&scratch).arg(&plugin).env("ASAN_OPTIONS", "detect_leaks=0"),
                &format!("{} (asan)", src.display()),
            );
        }
        if valgrind {
            let scratch = tmp.path().join(format!("{}-valgrind", src.file_stem().unwrap().to_string_lossy()));
            std::fs::create_dir_all(&scratch).unwrap();
            run(
                Command::new("valgrind")
                    .args([
                        "--error-exitcode=3",
                        "--leak-check=full",
                        "--errors-for-leak-kinds=definite,indirect,possible",
                        "--show-leak-kinds=definite,indirect,possible",
                        "--quiet",
                    ])
                    .arg(format!("--suppressions={}", root().join("ffi/valgrind.supp").display()))
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

#[test]
fn library_has_its_soname() {
    let out = Command::new("readelf").arg("-d").arg(lib_dir().join("libneedle.so")).output().expect("readelf runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Library soname: [libneedle.so.0]"), "no SONAME libneedle.so.0:\n{text}");
}
