import Foundation

/// Every problem the harness reports. `description` is one line and names the file when there is one.
///
/// - `badFixture`: the fixtures (index.json or a .bin) are unreadable, malformed or corrupt — bad input.
/// - `badArgument`: a caller/CLI argument is wrong (unknown case, artifact, perturbation syntax) — bad input.
/// - `io`: an output could not be written.
/// - `model`: the model could not be loaded or failed on a case (a test result, not bad input).
public enum HarnessError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case badFixture(path: String, reason: String)
    case badArgument(String)
    case io(path: String, reason: String)
    case model(String)

    public var description: String {
        switch self {
        case let .badFixture(path, reason): return Self.oneLine("\(path): \(reason)")
        case let .badArgument(reason): return Self.oneLine(reason)
        case let .io(path, reason): return Self.oneLine("\(path): \(reason)")
        case let .model(reason): return Self.oneLine(reason)
        }
    }

    public var errorDescription: String? { description }

    /// True for the errors that mean "the input is wrong" (the CLI's exit 2).
    public var isBadInput: Bool {
        switch self {
        case .badFixture, .badArgument, .io: return true
        case .model: return false
        }
    }

    public static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}
