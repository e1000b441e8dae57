// swift-tools-version:6.2
import PackageDescription

// Module map: docs/internals/modules.md. Hot-path modules (LBSystem, LBEngine,
// LBBalancing, LBForwarding) depend on nothing but CShims and the standard library.
let package = Package(
    name: "tessera-lb",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tessera-lb", targets: ["tessera-lb"]),
        .library(name: "TesseraLB", targets: ["TesseraLB"]),
        // The data path's pure parts, for the micro-benchmarks in bench/micro (a nested package, so that
        // `swift test` never builds them).
        .library(name: "LBHotPaths", targets: ["LBBalancing", "LBEngine", "LBForwarding"]),
        // The parsers of untrusted text (config file, Tessera configs, environment, flags), for the libFuzzer
        // targets in fuzz/ (a nested package: `swift build` never builds them, and they instrument only these
        // modules, not NIO).
        .library(name: "LBParsers", targets: ["LBConfig", "LBTessera"]),
        // The admin listener's request handling (NIO's HTTP/1.1 parser, the handler, the routes) and what a
        // `BalancerView` is made of, for the fuzz target that feeds it requests without sockets.
        .library(name: "LBAdminHandling", targets: ["LBAdminServer", "LBBalancing", "LBForwarding"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.24.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        // `tessera-lb run`'s service group: graceful shutdown on SIGTERM/SIGINT, signals as async sequences.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Tests only: IntegrationTests parses deploy/'s compose file and manifests.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "CShims",
            path: "CShims",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("uring")]
        ),
        .target(name: "LBSystem", dependencies: ["CShims"]),
        .target(name: "LBEngine", dependencies: ["LBSystem"]),
        .target(name: "LBBalancing"),
        .target(name: "LBForwarding", dependencies: ["LBEngine", "LBSystem", "LBBalancing"]),
        .target(name: "LBConfig", dependencies: ["LBBalancing"]),
        .target(
            name: "LBStandIn",
            dependencies: [
                "LBSystem", "LBEngine",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .target(name: "LBTessera", dependencies: ["LBConfig"]),
        .target(
            name: "LBHealth",
            dependencies: [
                "LBBalancing", "LBSystem",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "LBGroup",
            dependencies: [
                "LBBalancing",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The admin listener: status page, /status, /metrics, /readyz, node control, reload.
        .target(
            name: "LBAdminServer",
            dependencies: [
                "LBBalancing", "LBConfig", "LBForwarding", "LBGroup", "LBHealth", "LBSystem",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What `tessera-lb ctl` and `tessera-lb health` ask the admin listener with.
        .target(
            name: "LBAdminClient",
            dependencies: [
                "LBConfig",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // `--log-format json`: one JSON object per log line.
        .target(
            name: "LBJSONLog",
            dependencies: ["LBConfig", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "TesseraLB",
            dependencies: [
                "LBSystem", "LBEngine", "LBBalancing", "LBForwarding", "LBConfig", "LBGroup", "LBHealth", "LBAdminServer",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "tessera-lb",
            dependencies: [
                "TesseraLB", "LBConfig", "LBStandIn", "LBTessera", "LBAdminServer", "LBAdminClient", "LBJSONLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "LBTestSupport", dependencies: ["LBSystem", "LBStandIn"], path: "Tests/LBTestSupport"),
        .testTarget(name: "LBSystemTests", dependencies: ["LBSystem", "LBTestSupport"]),
        .testTarget(name: "LBBalancingTests", dependencies: ["LBBalancing"]),
        // The data path's parts that need no socket: slots, tokens, pools, the connection log's ring.
        .testTarget(name: "LBForwardingTests", dependencies: ["LBForwarding", "LBEngine", "LBSystem", "LBTestSupport"]),
        .testTarget(name: "LBGroupTests", dependencies: ["LBGroup"]),
        .testTarget(
            name: "LBHealthTests",
            dependencies: [
                "LBHealth", "LBBalancing",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "LBConfigTests", dependencies: ["LBConfig", "LBTestSupport"]),
        .testTarget(name: "LBTesseraTests", dependencies: ["LBTessera", "LBConfig", "LBTestSupport"]),
        .testTarget(
            name: "LBAdminServerTests",
            dependencies: ["LBAdminServer", "LBBalancing", "LBForwarding", "LBHealth", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "LBJSONLogTests",
            dependencies: ["LBJSONLog", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["TesseraLB", "LBAdminServer", "LBBalancing", "LBConfig", "LBForwarding", "LBGroup", "LBHealth", "LBStandIn", "LBSystem", "LBTestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Yams", package: "Yams")]
        ),
    ]
)

// The data path's modules, in release builds, without run-time exclusivity checks: every read or write of a
// class's stored `var` (the worker's clock, its lists, the pools) called swift_beginAccess, about 60
// instructions each, 37 % of what a kept-alive request executed (docs/benchmarks.md). Their state is touched
// by one worker thread, and the debug build the tests run keeps the checks, so a conflicting access still traps
// there. The static checks stay on everywhere.
let uncheckedInRelease: Set<String> = ["LBSystem", "LBEngine", "LBBalancing", "LBForwarding"]

for target in package.targets where target.type != .system {
    if target.name == "CShims" { continue }
    var settings = target.swiftSettings ?? []
    if uncheckedInRelease.contains(target.name) {
        settings.append(.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)))
    }
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.treatAllWarnings(as: .error))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
