internal import LBConfig

/// `${VAR}` and `${VAR:-default}` placeholders, as templates rendered with envsubst or a shell leave them
/// (quorum-dev-quickstart, quorum-examples). They are filled in from the environment tessera-lb is given, and
/// only in the fields tessera-lb reads, so a secret such as `${DB_PASSWORD}` need not be set for it.
enum EnvironmentTemplate {
    static func expand(_ text: String, _ environment: [String: String]) throws(ConfigProblem) -> String {
        var output = ""
        var rest = Substring(text)
        while let start = rest.firstRange(of: "${") {
            output += rest[..<start.lowerBound]
            let body = rest[start.upperBound...]
            guard let close = body.firstIndex(of: "}") else {
                throw ConfigProblem("has \"${\" without its \"}\"")
            }
            let placeholder = body[..<close]
            let name: Substring
            var fallback: Substring?
            if let dash = placeholder.firstRange(of: ":-") {
                name = placeholder[..<dash.lowerBound]
                fallback = placeholder[dash.upperBound...]
            } else {
                name = placeholder
            }
            guard let first = name.first, !first.isNumber,
                  name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
            else {
                throw ConfigProblem("\"${\(placeholder)}\" does not name an environment variable")
            }
            // As in the shell, ":-" also replaces a variable that is set but empty.
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                throw ConfigProblem("uses ${\(name)}, which is not set in the environment")
            }
            rest = body[body.index(after: close)...]
        }
        return output + rest
    }
}
