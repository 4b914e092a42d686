//! The `hookbox` binary: everything lives in the library; see `hookbox --help`.

/// sled allocates and frees for every write it makes; mimalloc does that work in about half the
/// time of glibc's malloc (see README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    hookbox::cli::main()
}
