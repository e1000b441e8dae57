/// The `app` of a Tessera `serverConfigs` entry.
enum TesseraApp: String, CaseIterable, Sendable {
    case p2p = "P2P"
    case thirdParty = "ThirdParty"
    case q2t = "Q2T"
    /// A remote enclave: internal to the node, not balanced.
    case enclave = "ENCLAVE"
    /// Legacy admin server: not balanced.
    case admin = "ADMIN"

    /// The apps tessera-lb balances, in the order of the default services.
    static let balanced: [TesseraApp] = [.p2p, .thirdParty, .q2t]

    /// The balancer's service for this app, named like the default services.
    var serviceName: String? {
        switch self {
        case .p2p: "p2p"
        case .thirdParty: "thirdparty"
        case .q2t: "q2t"
        case .enclave, .admin: nil
        }
    }
}
