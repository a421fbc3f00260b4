fn main() -> std::process::ExitCode {
    trailaudit::cli::run()
}
