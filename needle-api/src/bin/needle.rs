//! The `needle` command-line tool; the commands live in [`needle::cli`].

fn main() -> std::process::ExitCode {
    needle::cli::main()
}
