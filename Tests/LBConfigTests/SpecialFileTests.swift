import Foundation
import LBConfig
import LBTestSupport
import Testing

/// Files the configuration names must be regular files of a sane size: a FIFO would block open(2) until a
/// writer comes, a device or a huge sparse file would be read without end.
@Suite("Special files as config, CA, certificate and key")
struct SpecialFileTests {
    @Test("a FIFO as --health-ca, --health-cert or --health-key is refused at once, naming the flag")
    func fifoFlags() throws {
        let fifo = try FIFO()
        let path = fifo.path
        let cases: [(ConfigOverrides, String)] = [
            (ConfigOverrides(nodes: ["10.0.0.1"], ["--health-ca": path]), "--health-ca"),
            (ConfigOverrides(nodes: ["10.0.0.1"], ["--health-cert": path]), "--health-cert"),
            (ConfigOverrides(nodes: ["10.0.0.1"], ["--health-key": path]), "--health-key"),
        ]
        for (overrides, flag) in cases {
            let line = fifo.finishes { rejection(overrides) }
            #expect(line == #"invalid \#(flag) "\#(path)": not a regular file (a FIFO)"#, "blocked or accepted: \(String(describing: line))")
        }
    }

    @Test("a FIFO in TESSERA_LB_HEALTH_CA or the config file's health.tls.keyFile is refused at once")
    func fifoEnvironmentAndFile() throws {
        let fifo = try FIFO()
        let path = fifo.path
        let fromEnvironment = fifo.finishes {
            rejection(environment: ["TESSERA_LB_HEALTH_CA": path], ConfigOverrides(nodes: ["10.0.0.1"]))
        }
        #expect(fromEnvironment == #"invalid TESSERA_LB_HEALTH_CA "\#(path)": not a regular file (a FIFO)"#)
        let file = try TemporaryConfigFile(#"{"nodes": ["10.0.0.1"], "health": {"tls": {"keyFile": "\#(path)"}}}"#)
        let filePath = file.path
        let fromFile = fifo.finishes { rejection(file: filePath, ConfigOverrides()) }
        #expect(fromFile == #"invalid health.tls.keyFile "\#(path)" in \#(filePath): not a regular file (a FIFO)"#)
    }

    @Test("a FIFO, a device or a directory as --config is refused, saying what it is")
    func specialConfigFiles() throws {
        let fifo = try FIFO()
        let path = fifo.path
        #expect(fifo.finishes { rejection(file: path, oneNode) } == #"invalid --config "\#(path)": not a regular file (a FIFO)"#)
        #expect(rejection(file: "/dev/null", oneNode) == #"invalid --config "/dev/null": not a regular file (a character device)"#)
        #expect(rejection(file: "/dev/zero", oneNode) == #"invalid --config "/dev/zero": not a regular file (a character device)"#)
    }

    @Test("a config file over 16 MiB (a sparse one here) is refused without being read")
    func hugeSparseConfig() throws {
        let file = try TemporaryConfigFile("")
        let fd = open(file.path, O_WRONLY)
        try #require(fd >= 0)
        #expect(ftruncate(fd, 64 << 20) == 0)
        close(fd)
        #expect(rejection(file: file.path, oneNode) ==
            #"invalid --config "\#(file.path)": the file is 67108864 bytes; at most 16777216 bytes (16 MiB) are read"#)
        let pem = try TemporaryConfigFile("")
        #expect(truncate(pem.path, 17 << 20) == 0)
        #expect(rejection(ConfigOverrides(nodes: ["10.0.0.1"], ["--health-ca": pem.path])) ==
            #"invalid --health-ca "\#(pem.path)": the file is 17825792 bytes; at most 16777216 bytes (16 MiB) are read"#)
    }

    @Test("a config file of exactly 16 MiB is still read")
    func limitItself() throws {
        let body = #"{"nodes": ["10.0.0.1"]}"#
        let file = try TemporaryConfigFile(body + String(repeating: " ", count: (16 << 20) - body.utf8.count))
        #expect(rejection(file: file.path, ConfigOverrides()) == nil)
    }
}
