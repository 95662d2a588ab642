fn main() -> std::process::ExitCode {
    rhttpd::cli::main()
}
