import Foundation
import LBTestSupport
import Testing
import Yams

/// The examples in deploy/ parsed as YAML and checked against what the docs and the binary say: Tessera's ports,
/// the admin port, the drain timeout against the grace periods, every TESSERA_LB_ variable documented and
/// accepted, the health command, the probes. No container engine runs here; this is what can be checked without
/// one (docs/containers.md says what cannot).
@Suite("the examples in deploy/")
struct DeployTests {
    /// The repository's root, from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// A YAML document as plain dictionaries and arrays (anchors and merge keys resolved).
    static func yaml(_ path: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: text(path)).flatMap(map), "\(path) is a YAML mapping")
    }

    /// Tessera's three ports, as README.md and docs/containers.md give them.
    static let tesseraPorts: Set<Int> = [9000, 9080, 9101]

    /// Every TESSERA_LB_ variable the docs list in their tables: the settings (configuration.md) and the admin
    /// listener's and logs' (operations.md).
    static func documentedVariables() throws -> Set<String> {
        var names: Set<String> = []
        for doc in ["docs/configuration.md", "docs/operations.md"] {
            for line in try text(doc).split(separator: "\n") where line.hasPrefix("|") {
                for match in line.matches(of: /`(TESSERA_LB_[A-Z_]+)`/) { names.insert(String(match.1)) }
            }
        }
        return names
    }

    /// `tessera-lb run --print-config` under `environment` alone: the configuration a container gets.
    static func printedConfig(_ environment: [String: String], _ arguments: [String] = []) throws -> [String: Any] {
        let result = try runCommand(tesseraLBExecutable(), ["run", "--print-config"] + arguments, timeout: 20, environment: environment)
        try #require(result.status == 0, "print-config: \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// What the Dockerfile's image sets: its environment, user, health check.
    static func dockerfile() throws -> (environment: [String: String], user: Int, healthCheck: [String]) {
        var environment: [String: String] = [:]
        var user = -1
        var health: [String] = []
        for line in try text("Dockerfile").split(separator: "\n") {
            if let match = line.firstMatch(of: /^ENV ([A-Z_]+)=(\S+)$/) { environment[String(match.1)] = String(match.2) }
            if let match = line.firstMatch(of: /^USER (\d+):\d+$/) { user = Int(match.1)! }
            if line.hasPrefix("HEALTHCHECK"), let json = line.firstMatch(of: /CMD (\[.*\])$/) {
                health = try JSONSerialization.jsonObject(with: Data(json.1.utf8)) as? [String] ?? []
            }
        }
        return (environment, user, health)
    }

    // MARK: - docker compose

    @Test("compose: tessera-lb publishes Tessera's three ports, P2P on every address, ThirdParty and Q2T on loopback")
    func composePorts() throws {
        let compose = try Self.yaml("deploy/docker-compose.yml")
        let services = try #require(map(compose["services"]))
        #expect(Set(services.keys) == ["db", "tessera-1", "tessera-2", "tessera-lb"])
        let lb = try #require(map(services["tessera-lb"]))
        let ports = try #require(lb["ports"] as? [String])
        var published: [Int: String] = [:]
        for entry in ports {
            // [HOST_IP:]HOST_PORT:CONTAINER_PORT
            let parts = entry.split(separator: ":").map(String.init)
            let container = try #require(Int(parts.last!))
            #expect(Int(parts[parts.count - 2]) == container, "\(entry): published on the same port")
            published[container] = parts.count == 3 ? parts[0] : "all"
        }
        #expect(Set(published.keys) == Self.tesseraPorts)
        #expect(published[9000] == "all")
        #expect(published[9080] == "127.0.0.1" && published[9101] == "127.0.0.1", "\(published)")
        for name in ["tessera-1", "tessera-2"] {
            let node = try #require(map(services[name]))
            let exposed = Set((node["expose"] as? [Any] ?? []).compactMap { Int("\($0)") })
            #expect(exposed == Self.tesseraPorts, "\(name) exposes Tessera's ports to the balancer: \(exposed)")
            #expect(node["ports"] == nil, "\(name) publishes nothing: only the balancer is reached from outside")
            let command = try #require(node["command"] as? [String])
            let file = try #require(command.last?.replacingOccurrences(of: "/config/", with: "deploy/tessera/"))
            #expect(FileManager.default.fileExists(atPath: Self.root.appendingPathComponent(file).path), "\(file) exists")
        }
    }

    @Test("compose: every TESSERA_LB_ variable is documented and accepted, and the grace period outlasts the drain")
    func composeEnvironmentAndGrace() throws {
        let compose = try Self.yaml("deploy/docker-compose.yml")
        let lb = try #require(map(map(compose["services"])?["tessera-lb"]))
        let environment = try #require(map(lb["environment"])).mapValues { "\($0)" }
        let documented = try Self.documentedVariables()
        #expect(documented.count >= 40, "the tables were read: \(documented.count)")
        for name in environment.keys where name.hasPrefix("TESSERA_LB_") {
            #expect(documented.contains(name), "\(name) is in the docs' tables")
        }
        // The container's environment: the image's, then the compose file's.
        let image = try Self.dockerfile()
        let container = image.environment.merging(environment) { $1 }
        let check = try runCommand(tesseraLBExecutable(), ["check-config"], timeout: 20, environment: container)
        #expect(check.status == 0 && check.stdout == "ok\n", "check-config: \(check.stdout) \(check.stderr)")
        let config = try Self.printedConfig(container)
        let services = try #require(config["services"] as? [[String: Any]])
        #expect(Set(services.compactMap { $0["listenPort"] as? Int }) == Self.tesseraPorts)
        #expect(config["listen"] as? String == "0.0.0.0", "the image listens on every address")

        let drainMs = try #require(config["drainTimeoutMs"] as? Int)
        let grace = try #require(lb["stop_grace_period"] as? String)
        let graceSeconds = try #require(Int(grace.dropLast()), "stop_grace_period in seconds: \(grace)")
        #expect(grace.hasSuffix("s"))
        #expect(graceSeconds * 1000 > drainMs, "stop_grace_period \(grace) outlasts the drain timeout \(drainMs) ms")
        #expect(try Self.text("docs/containers.md").contains("| docker compose | `stop_grace_period` | 10 s | `\(grace)` |"))
    }

    @Test("compose: the health check is `tessera-lb health`, as the image's HEALTHCHECK")
    func composeHealthCheck() throws {
        let compose = try Self.yaml("deploy/docker-compose.yml")
        let lb = try #require(map(map(compose["services"])?["tessera-lb"]))
        let check = try #require(map(lb["healthcheck"]))
        let test = try #require(check["test"] as? [String])
        #expect(test == ["CMD", "tessera-lb", "health"])
        #expect(try Self.dockerfile().healthCheck == ["tessera-lb", "health"])
        let limit = try #require(map(map(lb["ulimits"])?["nofile"]))
        #expect(limit["soft"] as? Int == 65536 && limit["hard"] as? Int == 65536)
        // The command the check runs exists and answers as documented: 1 with no balancer to ask.
        let nobody = try runCommand(tesseraLBExecutable(), ["health", "--admin", "127.0.0.1:\(freePort())"], timeout: 20, environment: [:])
        #expect(nobody.status == 1, "\(nobody.stdout) \(nobody.stderr)")
    }

    // MARK: - Kubernetes

    @Test("kubernetes: the container's ports, the Service's and the config file's agree: 9000, 9080, 9101 and the admin port")
    func kubernetesPorts() throws {
        let deployment = try Self.yaml("deploy/kubernetes/deployment.yaml")
        let service = try Self.yaml("deploy/kubernetes/service.yaml")
        let container = try Self.container(deployment)
        var named: [String: Int] = [:]
        for port in try #require(container["ports"] as? [Any]).compactMap(map) {
            named[try #require(port["name"] as? String)] = port["containerPort"] as? Int
        }
        #expect(named == ["p2p": 9000, "thirdparty": 9080, "q2t": 9101, "admin": 9990])
        let environment = try Self.environment(container)
        let admin = try #require(environment["TESSERA_LB_ADMIN"] ?? nil)
        #expect(admin == "0.0.0.0:\(named["admin"]!)", "the admin listener listens where the probes and the port say")

        let spec = try #require(map(service["spec"]))
        let podLabels = try #require(map(map(map(map(deployment["spec"])?["template"])?["metadata"])?["labels"]))
        for (key, value) in try #require(map(spec["selector"])) {
            #expect(podLabels[key] as? String == value as? String, "the Service selects the pods: \(key)")
        }
        var servicePorts: [Int] = []
        for port in try #require(spec["ports"] as? [Any]).compactMap(map) {
            let target = try #require(port["targetPort"] as? String)
            #expect(named[target] == port["port"] as? Int, "\(target): Service port and container port agree")
            servicePorts.append(try #require(port["port"] as? Int))
        }
        #expect(Set(servicePorts) == Self.tesseraPorts, "the Service carries Tessera's ports, not the admin port")

        let configured = try Self.configMapConfig()
        let listen = try #require(configured["services"] as? [[String: Any]]).compactMap { $0["listenPort"] as? Int }
        #expect(Set(listen) == Self.tesseraPorts)
    }

    @Test("kubernetes: every TESSERA_LB_ variable is documented, the config file validates, the token comes from a Secret")
    func kubernetesConfiguration() throws {
        let deployment = try Self.yaml("deploy/kubernetes/deployment.yaml")
        let container = try Self.container(deployment)
        let environment = try Self.environment(container)
        let documented = try Self.documentedVariables()
        for name in environment.keys {
            #expect(documented.contains(name), "\(name) is in the docs' tables")
        }
        // The token is a Secret, never a value in the manifest (the admin listener is off loopback).
        let entries = try #require(container["env"] as? [Any]).compactMap(map)
        let token = try #require(entries.first { $0["name"] as? String == "TESSERA_LB_ADMIN_TOKEN" })
        #expect(token["value"] == nil && map(map(token["valueFrom"])?["secretKeyRef"]) != nil)

        // TESSERA_LB_CONFIG names the ConfigMap's key where the volume mounts it.
        let path = try #require(environment["TESSERA_LB_CONFIG"] ?? nil)
        let mounts = try #require(container["volumeMounts"] as? [Any]).compactMap(map)
        let podSpec = try #require(map(map(map(deployment["spec"])?["template"])?["spec"]))
        let volumes = try #require(podSpec["volumes"] as? [Any]).compactMap(map)
        let configMap = try Self.yaml("deploy/kubernetes/configmap.yaml")
        let configMapName = try #require(map(configMap["metadata"])?["name"] as? String)
        let mount = try #require(mounts.first { path.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") })
        let volume = try #require(volumes.first { $0["name"] as? String == mount["name"] as? String })
        #expect(map(volume["configMap"])?["name"] as? String == configMapName)
        let key = String(path.dropFirst((mount["mountPath"] as! String).count + 1))
        #expect(map(configMap["data"])?[key] is String, "the ConfigMap has \(key)")

        // The file validates as the pod would read it, with the pod's environment (less the Secret).
        let file = NSTemporaryDirectory() + "tessera-lb-configmap-\(getpid()).json"
        try (map(configMap["data"])?[key] as! String).write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        var pod = try Self.dockerfile().environment
        for (name, value) in environment { if let value { pod[name] = value } }
        pod["TESSERA_LB_CONFIG"] = file
        let check = try runCommand(tesseraLBExecutable(), ["check-config"], timeout: 20, environment: pod)
        #expect(check.status == 0 && check.stdout == "ok\n", "check-config: \(check.stdout) \(check.stderr)")
        #expect(podSpec["enableServiceLinks"] as? Bool == false, "no service-link variables next to the settings")

        // The worker count is the CPU limit, as docs/containers.md asks.
        let workers = try #require(try Self.configMapConfig()["workers"] as? Int)
        let cpu = try #require(map(map(container["resources"])?["limits"])?["cpu"] as? String)
        #expect(Int(cpu) == workers, "workers \(workers) = cpu limit \(cpu)")
    }

    @Test("kubernetes: probes on /healthz and /readyz of the admin port, and a grace period covering the accept grace and the drain")
    func kubernetesLifecycle() throws {
        let deployment = try Self.yaml("deploy/kubernetes/deployment.yaml")
        let container = try Self.container(deployment)
        let liveness = try #require(map(map(container["livenessProbe"])?["httpGet"]))
        let readiness = try #require(map(map(container["readinessProbe"])?["httpGet"]))
        #expect(liveness["path"] as? String == "/healthz" && liveness["port"] as? String == "admin")
        #expect(readiness["path"] as? String == "/readyz" && readiness["port"] as? String == "admin")

        let podSpec = try #require(map(map(map(deployment["spec"])?["template"])?["spec"]))
        let grace = try #require(podSpec["terminationGracePeriodSeconds"] as? Int)
        // The accept grace replaces a preStop sleep: the process keeps accepting while kube-proxy catches up.
        #expect(container["lifecycle"] == nil, "no preStop: the accept grace does its work")
        let configured = try Self.configMapConfig()
        let acceptGraceMs = try #require(configured["acceptGraceMs"] as? Int)
        let drainMs = try #require(configured["drainTimeoutMs"] as? Int)
        #expect(acceptGraceMs >= 3000, "long enough for every kube-proxy to drop the endpoint: \(acceptGraceMs) ms")
        #expect(grace * 1000 > acceptGraceMs + drainMs, "grace \(grace) s > accept grace \(acceptGraceMs) ms + drain \(drainMs) ms")
        #expect(try Self.text("docs/containers.md").contains("accept grace + drain timeout + a margin: \(grace) in deploy/kubernetes"))

        let security = try #require(map(podSpec["securityContext"]))
        #expect(security["runAsNonRoot"] as? Bool == true)
        #expect(security["runAsUser"] as? Int == (try Self.dockerfile().user), "the image's user")
        let containerSecurity = try #require(map(container["securityContext"]))
        #expect(containerSecurity["readOnlyRootFilesystem"] as? Bool == true)
        #expect(map(containerSecurity["capabilities"])?["drop"] as? [String] == ["ALL"])
    }

    @Test("kubernetes: two replicas that a voluntary disruption never takes both of, spread over nodes and zones")
    func kubernetesAvailability() throws {
        let deployment = try Self.yaml("deploy/kubernetes/deployment.yaml")
        let budget = try Self.yaml("deploy/kubernetes/poddisruptionbudget.yaml")
        let spec = try #require(map(deployment["spec"]))
        let replicas = try #require(spec["replicas"] as? Int)
        #expect(replicas >= 2)
        let podLabels = try #require(map(map(map(spec["template"])?["metadata"])?["labels"]))
        let budgetSpec = try #require(map(budget["spec"]))
        #expect(budget["kind"] as? String == "PodDisruptionBudget")
        let minAvailable = try #require(budgetSpec["minAvailable"] as? Int)
        #expect(minAvailable >= 1 && minAvailable < replicas, "one replica may be evicted, never all")
        for (key, value) in try #require(map(map(budgetSpec["selector"])?["matchLabels"])) {
            #expect(podLabels[key] as? String == value as? String, "the budget selects the pods: \(key)")
        }
        let podSpec = try #require(map(map(spec["template"])?["spec"]))
        let spread = try #require(podSpec["topologySpreadConstraints"] as? [Any]).compactMap(map)
        #expect(spread.contains { $0["topologyKey"] as? String == "topology.kubernetes.io/zone" })
        let antiAffinity = try #require(map(map(podSpec["affinity"])?["podAntiAffinity"]))
        let preferred = try #require(antiAffinity["preferredDuringSchedulingIgnoredDuringExecution"] as? [Any]).compactMap(map)
        #expect(preferred.contains { map($0["podAffinityTerm"])?["topologyKey"] as? String == "kubernetes.io/hostname" })
    }

    // MARK: - Helpers

    static func container(_ deployment: [String: Any]) throws -> [String: Any] {
        let spec = try #require(map(map(map(deployment["spec"])?["template"])?["spec"]))
        let containers = try #require(spec["containers"] as? [Any]).compactMap(map)
        return try #require(containers.first { $0["name"] as? String == "tessera-lb" })
    }

    /// The container's variables by name; nil for those taken from a Secret or elsewhere.
    static func environment(_ container: [String: Any]) throws -> [String: String?] {
        var variables: [String: String?] = [:]
        for entry in try #require(container["env"] as? [Any]).compactMap(map) {
            variables[try #require(entry["name"] as? String)] = entry["value"].map { "\($0)" }
        }
        return variables
    }

    /// The ConfigMap's config as the balancer reads it (`--print-config`, so defaults are filled in).
    static func configMapConfig() throws -> [String: Any] {
        let configMap = try yaml("deploy/kubernetes/configmap.yaml")
        let json = try #require(map(configMap["data"])?["tessera-lb.json"] as? String)
        let file = NSTemporaryDirectory() + "tessera-lb-configmap-print-\(getpid())-\(UUID().uuidString).json"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        defer { unlink(file) }
        return try printedConfig([:], ["--config", file])
    }
}

/// A YAML mapping as `[String: Any]` (Yams gives `[AnyHashable: Any]`).
private func map(_ value: Any?) -> [String: Any]? {
    if let strings = value as? [String: Any] { return strings }
    guard let any = value as? [AnyHashable: Any] else { return nil }
    var out: [String: Any] = [:]
    for (key, value) in any { out["\(key.base)"] = value }
    return out
}
