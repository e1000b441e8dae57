import Foundation
import LBTestSupport
import Testing

/// `bench/soak --duration 60`: a minute of keep-alive and connection-per-request load through the debug binary
/// this suite built, with a node failed and brought back four times (refuse, reset, kill and start again, hang),
/// four reloads, four operator drains and enables, and a SIGTERM drain with transfers in flight. bench/soak itself
/// fails on growth, on a failed request outside a fault window and on a truncated or corrupt transfer; this test
/// checks its exit status and that the JSON it writes says the same, with the load and the schedule it promises
/// (so a soak that silently did nothing cannot pass). How each check was made to fail, and the hour-long run, are
/// in docs/soak.md.
@Suite("bench/soak")
struct SoakTests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("bench/soak --duration 60 passes: no leak, no failure outside fault windows, no truncation",
          .timeLimit(.minutes(3)))
    func soakOneMinute() throws {
        let json = FileManager.default.temporaryDirectory.appendingPathComponent("soak-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: json) }

        let run = try runCommand(
            Self.root.appendingPathComponent("bench/soak"),
            ["--duration", "60", "--lb-binary", tesseraLBExecutable().path, "--json", json.path],
            timeout: 150
        )
        let context = "exit \(run.status)\nstdout:\n\(run.stdout.suffix(4000))\nstderr:\n\(run.stderr.suffix(3000))"
        #expect(run.status == 0, "bench/soak failed: \(context)")
        #expect(run.stdout.contains("bench/soak: passed"), "\(context)")

        let data = try Data(contentsOf: json)
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(context)")
        let summary = try #require(root["summary"] as? [String: Any])
        #expect(summary["passed"] as? Bool == true, "problems: \(summary["problems"] ?? "-")")
        #expect((summary["problems"] as? [String])?.isEmpty == true)
        #expect(summary["failed_outside_windows"] as? Int == 0)
        #expect(summary["truncated"] as? Int == 0)
        #expect(summary["corrupt"] as? Int == 0)
        // Both kinds of load ran, through every fault and reload of the schedule.
        #expect((summary["requests_ok_keepalive"] as? Int ?? 0) >= 100, "\(summary)")
        #expect((summary["requests_ok_close"] as? Int ?? 0) >= 100, "\(summary)")
        #expect(summary["faults"] as? Int == 4, "\(summary)")
        let modes = try #require(summary["faults_by_mode"] as? [String: Int])
        #expect(["refuse", "reset", "kill", "hang"].allSatisfy { modes[$0] == 1 }, "\(modes)")
        #expect(summary["reloads_sent"] as? Int == 4 && summary["reloads_applied"] as? Int == 4, "\(summary)")
        #expect(summary["operator_actions"] as? Int == 8 && summary["operator_refusals"] as? Int == 0, "\(summary)")
        let drain = try #require(summary["drain"] as? [String: Any])
        #expect(drain["exit"] as? Int == 0 && drain["killed"] as? Bool == false, "\(drain)")
        #expect(drain["transfers"] as? Int == 2 && drain["transfers_whole"] as? Int == 2, "\(drain)")
        // A sample every second, each with every reading.
        let samples = try #require(root["samples"] as? [[String: Any]])
        #expect(samples.count >= 50, "\(samples.count) samples in 60 s")
        for key in ["rss_kib", "fds", "threads", "open_connections", "node_connections", "pipes"] {
            #expect(samples.allSatisfy { $0[key] is Int }, "\(key) missing from a sample")
        }
        let fds = try #require(summary["fds"] as? [String: Any])
        #expect((fds["peak"] as? Int ?? 0) > (fds["end"] as? Int ?? 0), "descriptors under load above the idle end: \(fds)")
    }
}
