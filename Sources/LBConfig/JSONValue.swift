internal import Foundation

/// A decoded JSON value with the distinctions config checks need (integer or not, boolean or number), which
/// Foundation's `Any` tree blurs.
package enum JSONValue {
    case null
    case bool(Bool)
    case integer(Int)
    /// A number that is not an integer in `Int`'s range, with its text.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Converts a value returned by `JSONSerialization`.
    package init(_ foundationValue: Any) {
        switch foundationValue {
        case let string as String:
            self = .string(string)
        case let array as [Any]:
            self = .array(array.map(JSONValue.init))
        case let object as [String: Any]:
            self = .object(object.mapValues(JSONValue.init))
        case let number as NSNumber:
            self = JSONValue(number)
        default:
            self = .null
        }
    }

    private init(_ number: NSNumber) {
        // `true` and `false` arrive as NSNumbers too; only their type encoding (char) sets them apart.
        switch String(cString: number.objCType) {
        case "c":
            self = .bool(number.boolValue)
        case "d", "f":
            // 3.0 and 1e2 are integers written another way; 1.5 and 1e20 are not.
            let double = number.doubleValue
            if double.rounded() == double, let integer = Int(exactly: double) {
                self = .integer(integer)
            } else {
                self = .number(number.stringValue)
            }
        case "Q":
            // Above Int.max (18446744073709551615): kept as written, never wrapped to a negative number.
            self = Int(exactly: number.uint64Value).map { .integer($0) } ?? .number(number.stringValue)
        default:
            self = Int(exactly: number.int64Value).map { .integer($0) } ?? .number(number.stringValue)
        }
    }

    /// What kind of value this is, for "expected an integer, got a string".
    package var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as an error shows it; nil for arrays and objects.
    package var text: String? {
        switch self {
        case .null: "null"
        case .bool(let bool): String(bool)
        case .integer(let integer): String(integer)
        case .number(let text), .string(let text): text
        case .array, .object: nil
        }
    }
}
