import Foundation
import Glibc
import LBStandIn
import LBTestSupport
import Testing

/// The release binary that the image ships (scripts/build-release, which the Dockerfile's build stage runs),
/// against the image's runtime stage: what it links, and that the runtime stage's packages are all it needs.
/// Runs when TESSERA_LB_TEST_BINARY names that binary, as scripts/test (and so CI) sets it.
@Suite("the release binary the image ships", .serialized)
struct ReleaseBinaryTests {
    @Test(
        "the release binary has the Swift runtime linked in and needs only libraries the image's runtime stage installs",
        .enabled(if: releaseBinaryGiven, "runs on the release binary from scripts/build-release (TESSERA_LB_TEST_BINARY; scripts/test sets it)")
    )
    func releaseBinaryLinkage() throws {
        let binary = binaryUnderTest()
        let ldd = try runCommand(URL(fileURLWithPath: "/usr/bin/ldd"), [binary], timeout: 20)
        #expect(ldd.status == 0, "\(ldd.stderr)")
        // "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
        let libraries: [(name: String, path: String)] = ldd.stdout.split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = words.first, !first.hasPrefix("linux-vdso") else { return nil }
            if words.count >= 3 && words[1] == "=>" { return (first, words[2]) }
            return (first.components(separatedBy: "/").last ?? first, first)
        }
        #expect(libraries.count >= 3, "\(ldd.stdout)")
        let swiftRuntime = libraries.filter { $0.name.hasPrefix("libswift") || $0.name.hasPrefix("libFoundation") || $0.name.hasPrefix("libdispatch") }
        #expect(swiftRuntime.isEmpty, "the Swift runtime and Foundation are linked statically: \(swiftRuntime.map(\.name))")

        let installed = Set(try runtimePackages())
        #expect(installed.contains("liburing2"), "\(installed)")
        for library in libraries {
            // dpkg knows a file by the path its package installed; on a merged /usr that is /lib/... or
            // /usr/lib/..., whichever ldd did not say.
            var owner: String?
            for path in [library.path, "/usr" + library.path, String(library.path.dropFirst(4))] {
                let found = try runCommand(URL(fileURLWithPath: "/usr/bin/dpkg"), ["-S", path], timeout: 20)
                if found.status == 0, let package = found.stdout.split(separator: ":").first {
                    owner = String(package)
                    break
                }
            }
            let package = try #require(owner, "no package owns \(library.path)")
            #expect(installed.contains(package), "\(library.name) comes from \(package), which the runtime stage does not install: \(installed)")
        }
    }

    @Test(
        "the release binary runs and forwards in a root holding nothing but the files of the image's runtime packages",
        .enabled(if: releaseBinaryGiven, "runs on the release binary from scripts/build-release (TESSERA_LB_TEST_BINARY; scripts/test sets it)"),
        .timeLimit(.minutes(1))
    )
    func runtimePackagesSuffice() throws {
        let root = NSTemporaryDirectory() + "tessera-lb-runtime-root-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try? FileManager.default.removeItem(atPath: root)
        // The files (not the folders: those come with them) of every package the runtime stage installs, as
        // dpkg installed them here, and the binary where the image puts it. No /etc/ld.so.cache, no shell.
        let packages = try runtimePackages()
        let script = """
            set -e
            root="$1"; binary="$2"; shift 2
            # Debian 12's merged /usr, as in its images.
            mkdir -p "$root/proc" "$root/tmp" "$root/usr/local/bin" "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64"
            for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
            dpkg -L "$@" | while IFS= read -r path; do
                if [ -L "$path" ] || [ -f "$path" ]; then
                    mkdir -p "$root$(dirname "$path")"
                    cp -a "$path" "$root$path"
                fi
            done
            install -m 0755 "$binary" "$root/usr/local/bin/tessera-lb"
            """
        let made = try runCommand(
            URL(fileURLWithPath: "/bin/sh"), ["-c", script, "sh", root, binaryUnderTest()] + packages, timeout: 60
        )
        try #require(made.status == 0, "building the root: \(made.stderr)")
        let everything = FileManager.default.enumerator(atPath: root)?.allObjects.count ?? 0
        #expect(!FileManager.default.fileExists(atPath: root + "/bin/sh"), "no shell in the root")

        let group = try StandInGroup(count: 2, speaks: [.http(service: "p2p"), .echo])
        defer { group.stop() }
        let ports = [freePort(), freePort()]
        // proc mounted, as in every container (the Swift runtime reads the arguments from it), then the binary
        // as user 65534 in the root.
        let balancer = try ChildProcess(
            "/usr/bin/unshare",
            ["--mount", "--pid", "--kill-child", "--mount-proc=\(root)/proc", "--propagation", "private",
             "/usr/sbin/chroot", "--userspec=65534:65534", root, "/usr/local/bin/tessera-lb", "run"],
            environment: containerVariables(for: group, listenPorts: ports, names: ["p2p", "bulk"])
        )
        for port in ports {
            #expect(
                balancer.waitUntilListening(host: "127.0.0.1", port: port),
                "listening on \(port) (a root of \(everything) entries); log: \(balancer.log)"
            )
        }
        let upcheck = try TestSocket(host: "127.0.0.1", port: ports[0])
        #expect(try HTTPExchange.get("/upcheck", on: upcheck, close: true).body == "I'm up!")
        upcheck.close()
        let client = try TestSocket(host: "127.0.0.1", port: ports[1])
        let payload = TestData.bytes(count: 1 << 20, seed: 7)
        try client.send(payload)
        client.shutdownWrite()
        #expect(try client.receiveAll() == payload, "byte-exact; log: \(balancer.log)")
        client.close()
        // SIGTERM to the binary, PID 1 of its namespace (unshare, like a container engine, ignores it).
        let pid = try #require(balancer.waitForFirstChild(), "the balancer's process")
        kill(pid, SIGTERM)
        #expect(balancer.waitForExit(seconds: 20) == 0, "exit 0; log: \(balancer.log)")
    }

    /// The packages the Dockerfile's runtime stage installs: the `apt-get install` list of the stage that
    /// makes the image's root (`AS runtime-root`).
    private func runtimePackages() throws -> [String] {
        let dockerfile = try String(contentsOf: DeployTests.root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let runtimeStage = try #require(
            dockerfile.components(separatedBy: "\nFROM ").first { $0.hasPrefix("${RUNTIME_IMAGE} AS runtime-root\n") },
            "the Dockerfile has a stage FROM ${RUNTIME_IMAGE} AS runtime-root"
        )
        let install = try #require(runtimeStage.range(of: "--no-install-recommends"), "\(runtimeStage)")
        let listEnd = try #require(runtimeStage.range(of: "&&", range: install.upperBound..<runtimeStage.endIndex))
        return runtimeStage[install.upperBound..<listEnd.lowerBound]
            .split(whereSeparator: { " \\\n".contains($0) }).map(String.init)
    }
}
