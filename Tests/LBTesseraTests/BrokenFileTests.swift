import LBConfig
import Testing

@Suite("Broken Tessera config files")
struct BrokenFileTests {
    typealias Text = TesseraConfigText

    /// The usual P2P and Q2T of a node at 10.0.0.11 behind the balancer "lb".
    static let p2p = Text.server("P2P", serverAddress: "http://lb:9000", bindingAddress: "http://10.0.0.11:9000")
    static let q2t = Text.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "http://10.0.0.11:9101")

    /// Each case: the file's contents, and the line it is rejected with, FILE standing for its path.
    static let cases: [(contents: String, line: String)] = wholeFileCases + serverListCases + addressCases + tlsCases

    @Test("a broken file is rejected with one line naming the file, the field and the problem", arguments: cases)
    func broken(contents: String, line: String) throws {
        let directory = try TesseraDirectory()
        let file = try directory.write("tessera.json", contents)
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) == line.replacing("FILE", with: file))
    }

    static let wholeFileCases: [(contents: String, line: String)] = [
        (#"{"mode": "tessera", "jdbc": {"url": "jdbc:h2:./target/h2/tessera1"}, "peer": []}"#,
         #"invalid --tessera-config "FILE": no "serverConfigs"; a Tessera node config lists its P2P, ThirdParty and "#
            + "Q2T servers there"),
        (#"{"server": {"hostName": "http://localhost", "port": 9001}, "unixSocketFile": "/tmp/tm.ipc", "peer": []}"#,
         #"invalid --tessera-config "FILE": no "serverConfigs"; this is the form of Tessera 0.7 and older (a top-level "#
            + #""server"), which tessera-lb does not read; write serverConfigs as Tessera 0.9 and later do"#),
        (Text.node(servers: [q2t]),
         "invalid serverConfigs in FILE: no P2P server; a Tessera node has exactly one, and tessera-lb needs it"),
        (#"{"serverConfigs": {"app": "P2P"}}"#, #"invalid serverConfigs in FILE: expected an array, got an object"#),
        ("[]", #"invalid --tessera-config "FILE": expected a JSON object at the top level, got an array"#),
        ("", #"invalid --tessera-config "FILE": the file is empty; it should hold a JSON object"#),
    ]

    static let serverListCases: [(contents: String, line: String)] = [
        (Text.node(servers: [p2p, q2t, p2p]),
         "invalid serverConfigs[2] in FILE: a second P2P server (the first is serverConfigs[0]); a Tessera node has exactly one"),
        (Text.node(servers: [p2p]),
         "invalid serverConfigs in FILE: no Q2T server; Tessera requires one unless bootstrapNode is true"),
        (Text.node(servers: [p2p, Text.server("q2t", serverAddress: "http://lb:9101")]),
         #"invalid serverConfigs[1].app "q2t" in FILE: must be P2P, ThirdParty, Q2T, ENCLAVE or ADMIN (spelt exactly so)"#),
        (Text.node(servers: [p2p, #"{ "serverAddress": "http://lb:9101" }"#]), #"invalid serverConfigs[1] in FILE: missing "app""#),
        (Text.node(servers: [p2p, #"{ "app": "Q2T", "bindingAddress": "http://10.0.0.11:9101" }"#]),
         #"invalid serverConfigs[1] in FILE: missing "serverAddress""#),
        (Text.node(servers: [p2p, #"{ "app": "Q2T", "serverSocket": { "type": "INET", "hostName": "http://localhost", "port": 9101 } }"#]),
         #"invalid serverConfigs[1] in FILE: has "serverSocket" (Tessera 0.8) instead of "serverAddress"; tessera-lb "#
            + #"reads the form of Tessera 0.9 and later, as in "serverAddress": "http://host:9000""#),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", extra: #""enabled": false"#)]),
         #"invalid serverConfigs[1].enabled "false" in FILE: a disabled server is started by current Tessera releases "#
            + "and skipped by old ones, so tessera-lb cannot tell whether it runs; remove the entry or set enabled to true"),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", extra: #""enabled": "yes""#)]),
         #"invalid serverConfigs[1].enabled "yes" in FILE: expected true or false"#),
        (Text.node(servers: [p2p, "5"]), #"invalid serverConfigs[1] "5" in FILE: expected an object, got an integer"#),
    ]

    static let addressCases: [(contents: String, line: String)] = [
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb", bindingAddress: "http://10.0.0.11:9101")]),
         #"invalid serverConfigs[1].serverAddress "http://lb" in FILE: has no port; Tessera needs one, as in http://lb:9000"#),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:91010")]),
         #"invalid serverConfigs[1].serverAddress "http://lb:91010" in FILE: the port must be between 1 and 65535"#),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "tcp://lb:9101")]),
         #"invalid serverConfigs[1].serverAddress "tcp://lb:9101" in FILE: must start with http://, https:// or unix:"#),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://0.0.0.0:9101")]),
         #"invalid serverConfigs[1].serverAddress "http://0.0.0.0:9101" in FILE: Tessera does not accept an address "#
            + "that binds every interface as the advertised one; advertise the balancer's address and put the node's "
            + "own in bindingAddress"),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "unix:/tmp/tm.ipc")]),
         #"invalid serverConfigs[1].bindingAddress "unix:/tmp/tm.ipc" in FILE: must be http:// or https://; Tessera "#
            + "binds only those (a unix socket goes in serverAddress)"),
        (Text.node(servers: [p2p, Text.server("ThirdParty", serverAddress: "unix:/tmp/tp.ipc"), q2t]),
         #"invalid serverConfigs[1].serverAddress "unix:/tmp/tp.ipc" in FILE: only a Q2T server may listen on a unix socket"#),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "http://10.0.0.99:9101")]),
         #"invalid serverConfigs[1].bindingAddress "http://10.0.0.99:9101" in FILE: names host 10.0.0.99 but "#
            + "serverConfigs[0].bindingAddress names 10.0.0.11; the balancer reaches a node at one address for every "
            + "service, so make them agree or name the node with --node HOST[:name]"),
    ]

    static let tlsCases: [(contents: String, line: String)] = [
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", bindingAddress: "https://10.0.0.11:9101")]),
         #"invalid serverConfigs[1].bindingAddress "https://10.0.0.11:9101" in FILE: is https:// but serverAddress is "#
            + "http://; a server speaks one of them, so both must use the same scheme"),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", extra: #""sslConfig": { "tls": "STRICT" }"#)]),
         #"invalid serverConfigs[1].sslConfig.tls "STRICT" in FILE: TLS is on but serverAddress is http://, so Tessera "#
            + "serves plain HTTP; use https:// addresses or set tls to OFF"),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "https://lb:9101", extra: #""sslConfig": { "tls": "OFF" }"#)]),
         #"invalid serverConfigs[1].serverAddress "https://lb:9101" in FILE: is https:// but the server's sslConfig "#
            + "does not set tls to STRICT, so Tessera serves plain HTTP; set tls to STRICT or use http://"),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", extra: #""sslConfig": { "tls": "strict" }"#)]),
         #"invalid serverConfigs[1].sslConfig.tls "strict" in FILE: must be STRICT or OFF"#),
        (Text.node(servers: [p2p, Text.server("Q2T", serverAddress: "http://lb:9101", extra: #""sslConfig": { "clientAuth": false }"#)]),
         #"invalid serverConfigs[1].sslConfig in FILE: missing "tls""#),
    ]

    @Test("an unset ${VAR} in a field tessera-lb reads is named with the field")
    func unsetVariable() throws {
        let directory = try TesseraDirectory()
        let file = try directory.write("tessera.json", Text.node(servers: [
            Self.p2pTemplate, Text.server("Q2T", serverAddress: "http://${LB_HOST}:9101", bindingAddress: "http://${NODE_IP}:9101"),
        ]))
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file]), environment: ["NODE_IP": "10.0.0.11"]) ==
            #"invalid serverConfigs[0].serverAddress "http://${LB_HOST}:9000" in \#(file): uses ${LB_HOST}, which is "#
                + "not set in the environment")
    }

    static let p2pTemplate = Text.server("P2P", serverAddress: "http://${LB_HOST}:9000", bindingAddress: "http://${NODE_IP}:9000")

    @Test("a malformed placeholder is named too")
    func badPlaceholder() throws {
        let directory = try TesseraDirectory()
        let file = try directory.write("tessera.json", Text.node(servers: [
            Text.server("P2P", serverAddress: "http://${LB HOST}:9000"), Self.q2t,
        ]))
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            #"invalid serverConfigs[0].serverAddress "http://${LB HOST}:9000" in \#(file): "${LB HOST}" does not name "#
                + "an environment variable")
    }

    @Test("the HA guide's own snippet, with its comments, is not JSON: the line and column say where")
    func guideSnippet() throws {
        let directory = try TesseraDirectory()
        let file = try directory.write("tessera.json", """
            {
              "serverConfigs":[
                {
                  "app": "ENCLAVE", // Defines us using a remote enclave, leave out if using built-in enclave
                  "serverAddress": "http://localhost:9081",
                  "communicationType": "REST"
                }
              ]
            }
            """)
        #expect(rejection(ConfigOverrides(tesseraConfigs: [file])) ==
            #"invalid --tessera-config "\#(file)": not valid JSON: invalid value at line 4, column 25"#)
    }

    @Test("a file that does not exist is named with the reason")
    func missingFile() {
        #expect(rejection(ConfigOverrides(tesseraConfigs: ["/nonexistent/tessera.json"])) ==
            #"invalid --tessera-config "/nonexistent/tessera.json": cannot read it: No such file or directory"#)
    }
}
