//! The `hookbox` binary: everything lives in the library; see `hookbox --help`.

fn main() -> std::process::ExitCode {
    hookbox::cli::main()
}
