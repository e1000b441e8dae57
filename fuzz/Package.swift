// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for tessera-lb's parsers of untrusted text: the config file, Tessera config files, the
// environment, and the address/service/allow flags. A package of its own so that the root's `swift build` and
// `swift test` never build them; `fuzz/run SECONDS` builds them with `--sanitize fuzzer --sanitize address`
// (which instruments only what they depend on: LBBalancing, LBConfig, LBTessera) and runs each
// (docs/fuzzing.md).
let package = Package(
    name: "tessera-lb-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the root's identity: without it, it is the folder the repository was cloned into.
        .package(name: "tessera-lb", path: ".."),
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
