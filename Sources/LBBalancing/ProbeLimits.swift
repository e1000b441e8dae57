/// What the health probe reads of an answer, shared by the probe (LBHealth) and the checks of its settings
/// (LBConfig), which both build on this module.
public enum ProbeLimits {
    /// The most of a probe answer's body that is read: Tessera's `/upcheck` says "I'm up!", and a probe that
    /// reached something else is not helped by reading more.
    public static let maxBodyBytes = 65_536
}
