import Testing

/// The system tests that need a program besides the balancer and the tools every test uses, so that they can be
/// run apart (README.md, "Testing"). `scripts/install-deps test` installs them.
extension Tag {
    /// Needs Debian's chromium, headless.
    @Tag static var browser: Self
    /// Needs the other balancers bench/run measures: nginx (with its stream module) and HAProxy, and wrk.
    @Tag static var otherBalancers: Self
}
