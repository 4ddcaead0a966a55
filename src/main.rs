fn main() {
    // Printing into a closed pipe (`hybridtop snapshot | head`) should end the process quietly,
    // as it does for other command-line tools, not panic in `println!`. A TTY never raises
    // SIGPIPE, so the dashboard is unaffected.
    // SAFETY: setting a signal disposition to its default before any thread is started.
    #[allow(unsafe_code)] // the one FFI call the binary makes; libc has no safe wrapper for it
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(hybridtop::run());
}
