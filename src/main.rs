fn main() -> std::process::ExitCode {
    kerf::cli::main()
}
