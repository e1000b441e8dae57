// swift-tools-version:6.2
import PackageDescription

// Micro-benchmarks of tessera-lb's data path where it is not a system call: node choice, connection slots,
// deadline lists, event tokens, passive health. A package of its own so that the root's `swift build` and
// `swift test` never build ordo-one/benchmark. Run with `bench/micro/run` (bench/README.md).
let package = Package(
    name: "tessera-lb-micro",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the root's identity: without it, it is the folder the repository was cloned into.
        .package(name: "tessera-lb", path: "../.."),
        // The MallocInterposer trait is what counts allocations (mallocCountTotal); naming the traits also
        // leaves out the default RuntimeInterposer, which this machine's package mirror does not have.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "LBHotPaths", package: "tessera-lb"),
            ],
            path: "Benchmarks/HotPaths",
            swiftSettings: [.swiftLanguageMode(.v6), .treatAllWarnings(as: .error)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
