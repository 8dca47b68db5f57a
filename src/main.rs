/// mimalloc rather than glibc's malloc: a snapshot is rebuilt whole on one thread while others
/// read the old one, and glibc's per-thread arenas kept freed snapshots resident (a soak held
/// 2.9 GB, ±17%, where the server starts at 330 MB; BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gridmap::cli::main()
}
