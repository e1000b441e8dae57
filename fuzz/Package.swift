// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for tessera-lb's parsers of untrusted text: the config file, Tessera config files, the
// environment, the address/service/allow flags, and the admin listener's request handling. A package of its own
// so that the root's `swift build` and `swift test` never build them; `fuzz/run SECONDS` builds them with
// `--sanitize fuzzer --sanitize address` (which instruments only what they depend on: LBConfig, LBTessera, and
// for the admin target LBAdminServer with swift-nio, AsyncHTTPClient and the rest it links) and runs each
// (docs/fuzzing.md).
let package = Package(
    name: "tessera-lb-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the root's identity: without it, it is the folder the repository was cloned into.
        .package(name: "tessera-lb", path: ".."),
        // The root's own dependencies (same versions, fuzz/Package.resolved): the admin target builds its
        // channel and logger from them.
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    ],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [.product(name: "LBParsers", package: "tessera-lb")]
        ),
        .executableTarget(name: "FuzzConfigFile", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "FuzzTesseraConfig", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "FuzzEnvironment", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "FuzzFlags", dependencies: ["FuzzSupport"]),
        .executableTarget(
            name: "FuzzAdminRequest",
            dependencies: [
                .product(name: "LBAdminHandling", package: "tessera-lb"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

for target in package.targets {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.treatAllWarnings(as: .error))
    // libFuzzer provides `main`; the targets only define LLVMFuzzerTestOneInput.
    if target.type == .executable { settings.append(.unsafeFlags(["-parse-as-library"])) }
    target.swiftSettings = settings
}
