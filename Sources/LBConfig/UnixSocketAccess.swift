#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LBBalancing

/// Who may connect to the unix-socket listeners (`--unix-mode`, `--unix-owner`): GoQuorum often runs as
/// another user than the balancer, and connecting to a unix socket takes write permission on its file.
package enum UnixSocketAccess {
    /// Octal permission bits, as chmod takes them: `660` or `0660`, at most `0777` (setuid, setgid and sticky
    /// mean nothing on a socket).
    package static func mode(_ text: String) throws(ConfigProblem) -> Int {
        guard (3...4).contains(text.count), text.allSatisfy({ ("0"..."7").contains($0) }),
              let mode = Int(text, radix: 8), mode <= 0o777
        else { throw ConfigProblem("must be permission bits in octal, such as 0660 or 0666, at most 0777") }
        return mode
    }

    /// The mode as the setting writes it: four octal digits.
    package static func octal(_ mode: Int) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// `USER`, `USER:GROUP` or `:GROUP`, each a name known to this host or a number; nil leaves that part as the
    /// balancer's.
    package static func owner(_ text: String) throws(ConfigProblem) -> (user: UInt32?, group: UInt32?) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userText = parts[0]
        let groupText = parts.count == 2 ? parts[1] : ""
        guard !userText.isEmpty || !groupText.isEmpty else {
            throw ConfigProblem("expected USER, USER:GROUP or :GROUP, by name or number")
        }
        let userID: UInt32? = userText.isEmpty ? nil : try id(userText, kind: "user") { name in
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 16_384)
            guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
            return entry.pw_uid
        }
        let groupID: UInt32? = groupText.isEmpty ? nil : try id(groupText, kind: "group") { name in
            var entry = group()
            var result: UnsafeMutablePointer<group>?
            var buffer = [CChar](repeating: 0, count: 16_384)
            guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
            return entry.gr_gid
        }
        return (userID, groupID)
    }

    private static func id(
        _ text: String, kind: String, lookUp: (String) -> UInt32?
    ) throws(ConfigProblem) -> UInt32 {
        if case .value(let number) = DecimalInteger.parse(text) {
            // (uid_t)-1 means "unchanged" to chown.
            guard (0..<Int(UInt32.max)).contains(number) else { throw ConfigProblem("the \(kind) id \(number) is out of range") }
            return UInt32(number)
        }
        guard let id = lookUp(text) else { throw ConfigProblem("no \(kind) named \(OneLine.quoted(text)) on this host") }
        return id
    }
}
