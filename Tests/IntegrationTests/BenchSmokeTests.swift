import Foundation
import LBTestSupport
import Testing

/// `bench/run --smoke` (the keep-alive row, every contender once for 1 s), so that the harness cannot rot
/// unnoticed. It checks the shape of what the harness writes, never a speed. It uses the debug binary this
/// suite already built (no second build), writes into a temp dir (not bench/results or docs/), and needs every
/// contender's tool: `scripts/install-deps test` installs nginx with its stream module, haproxy and wrk, and a
/// missing one fails the test instead of leaving a column out.
@Suite("bench/run", .tags(.otherBalancers))
struct BenchSmokeTests {
    static let contenders = [
        ("ceiling", "no proxy (ceiling)"), ("nginx-stream", "nginx stream"), ("nginx-ha", "nginx HA-guide http"),
        ("haproxy", "HAProxy tcp+splice"), ("lb-copy", "tessera-lb epoll copy"), ("lb-auto", "tessera-lb epoll auto"),
        ("lb-uring-copy", "tessera-lb io_uring copy"), ("lb-uring", "tessera-lb io_uring auto"),
    ]

    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("bench/run --smoke measures every contender and writes a well-formed table and JSON", .timeLimit(.minutes(4)))
    func smoke() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bench-smoke-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        let docs = Self.root.appendingPathComponent("docs/benchmarks.md")
        let docsBefore = try? Data(contentsOf: docs)
        let results = Self.root.appendingPathComponent("bench/results").path
        let resultsBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: results)) ?? [])

        let run = try runCommand(
            Self.root.appendingPathComponent("bench/run"),
            ["--smoke", "--lb-binary", tesseraLBExecutable().path, "--out", out.path, "--no-docs"],
            timeout: 200
        )
        let context = "exit \(run.status)\nstdout:\n\(run.stdout)\nstderr:\n\(run.stderr.suffix(3000))"
        try #require(run.status == 0, "bench/run --smoke failed: \(context)")

        // The markdown table on stdout, the same as the .md file next to the JSON.
        let tableLines = run.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix("|") }
        let rows = tableLines.map { line in
            line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        try #require(rows.count == 4, "a header, a separator and the two keep-alive rows: \(context)")
        let labels = Self.contenders.map(\.1)
        #expect(rows[0] == ["workload"] + labels + ["tessera-lb best ÷ best peer", "tessera-lb best ÷ ceiling"])
        #expect(rows[1].allSatisfy { $0 == "---" } && rows[1].count == rows[0].count)
        let requests = rows[2]
        #expect(requests.first?.hasPrefix("keep-alive requests/s") == true, "\(requests)")
        for (k, cell) in requests.dropFirst().prefix(labels.count).enumerated() {
            #expect(cell.wholeMatch(of: /\d+(\.\d+)?k/) != nil, "\(labels[k]): requests/s cell \"\(cell)\"")
        }
        #expect(requests[labels.count + 1].wholeMatch(of: /\d+\.\d\d× \(.+ vs .+\) (better|worse)/) != nil, "\(requests)")
        #expect(requests[labels.count + 2].wholeMatch(of: /\d+\.\d\d× \(.+\)/) != nil, "\(requests)")
        let cpu = rows[3]
        #expect(cpu.first?.hasPrefix("proxy CPU ms per 100k keep-alive requests") == true, "\(cpu)")
        #expect(cpu[1] == "n/a", "the ceiling has no proxy to take CPU from")
        for (k, cell) in cpu.dropFirst(2).prefix(labels.count - 1).enumerated() {
            #expect(cell.wholeMatch(of: /\d+/) != nil, "\(labels[k + 1]): CPU cell \"\(cell)\"")
        }

        // The files: the JSON parses and has a measured cell for every contender; the .md holds the table.
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        let json = try Data(contentsOf: out.appendingPathComponent("latest-smoke.json"))
        let result = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let meta = try #require(result["meta"] as? [String: Any])
        #expect(meta["profile"] as? String == "smoke")
        let ids = (result["contenders"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(ids == Self.contenders.map(\.0), "every contender ran; notes: \(result["notes"] ?? "-")")
        let cells = try #require(result["cells"] as? [[String: Any]])
        #expect(cells.count == Self.contenders.count)
        for cell in cells {
            let rps = (cell["values"] as? [String: Any])?["ka_rps"] as? Double
            #expect((rps ?? 0) > 0, "\(cell["contender"] ?? "?"): \(cell["raw"] ?? "-")")
        }
        let notes = (result["notes"] as? [String]) ?? []
        #expect(!notes.contains { $0.contains("not installed") || $0.contains("did not come up") }, "\(notes)")
        let markdown = try #require(files.first { $0.hasSuffix("-smoke.md") }, "files: \(files)")
        let saved = try String(contentsOf: out.appendingPathComponent(markdown), encoding: .utf8)
        #expect(saved.contains(tableLines.joined(separator: "\n")))

        // Nothing written into the repository.
        #expect((try? Data(contentsOf: docs)) == docsBefore, "docs/benchmarks.md left alone")
        #expect(Set((try? FileManager.default.contentsOfDirectory(atPath: results)) ?? []) == resultsBefore)
    }
}
