fn main() -> std::process::ExitCode {
    gridmap::cli::main()
}
