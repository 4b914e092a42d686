//! The `hookbox` binary: everything lives in the library; see `hookbox --help`.

/// sled allocates and frees for every write it makes. jemalloc does that work faster than glibc's
/// malloc (+15 % closed-loop ingest) with about the same resident memory at 1 M stored events;
/// mimalloc was faster still but held 50–90 MiB more (docs/benchmarks.md).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    hookbox::cli::main()
}
