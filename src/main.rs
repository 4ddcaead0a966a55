fn main() {
    std::process::exit(hybridtop::run());
}
