import Foundation

/// A float32 tensor: row-major values and the shape (batch dimension included).
public struct Tensor: Equatable, Sendable {
    public let shape: [Int]
    public private(set) var values: [Float]

    /// Throws when `values.count != product(shape)`.
    public init(shape: [Int], values: [Float]) throws {
        let count = try Tensor.elementCount(shape)
        guard count == values.count else {
            throw HarnessError.badArgument("\(values.count) values for shape \(shape) (\(count) expected)")
        }
        self.shape = shape
        self.values = values
    }

    /// product(shape); throws on a negative dimension or overflow (never traps on file data).
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var count = 1
        for d in shape {
            guard d >= 0 else { throw HarnessError.badArgument("negative dimension in shape \(shape)") }
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            let (bytes, overflowBytes) = product.multipliedReportingOverflow(by: 4)
            guard !overflow, !overflowBytes, bytes <= Int(Int32.max) * 8 else { throw HarnessError.badArgument("shape \(shape) is too large") }
            count = product
        }
        return count
    }

    /// The same shape with every value transformed.
    public func map(_ transform: (Float) -> Float) -> Tensor {
        var copy = self
        copy.values = values.map(transform)
        return copy
    }

    /// True when the shapes differ only by dimensions of size 1 (so a reshape keeps the row-major
    /// order), e.g. [1, 64, 64] and [1, 64, 64, 1].
    public static func sameUpToUnitDimensions(_ a: [Int], _ b: [Int]) -> Bool {
        a.filter { $0 != 1 } == b.filter { $0 != 1 }
    }

    /// Same data, other shape (row-major order unchanged); throws when the element counts differ.
    public func reshaped(_ shape: [Int]) throws -> Tensor { try Tensor(shape: shape, values: values) }
}

/// Something that runs the model of a bundle on one case's inputs.
public protocol ModelRunner {
    /// What ran, for device.json's `runtime` (e.g. "coreml", "golden-replay").
    var runtime: String { get }
    /// Outputs by name, row-major float32 with their shapes.
    func run(_ inputs: [String: Tensor]) throws -> [String: Tensor]
}

/// Perturb one case's output by adding `delta` to every value (a deliberate failure for testing the pipeline).
public struct Perturbation: Equatable, Sendable {
    public let caseID: String
    public let output: String
    public let delta: Float

    public init(caseID: String, output: String, delta: Float) {
        (self.caseID, self.output, self.delta) = (caseID, output, delta)
    }

    /// `CASE:OUTPUT:DELTA`, e.g. `case-001:mask:0.5`.
    public static func parse(_ text: String) throws -> Perturbation {
        let parts = text.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty, let delta = Float(parts[2]), delta.isFinite else {
            throw HarnessError.badArgument("--perturb \"\(text)\": expected CASE:OUTPUT:DELTA, e.g. case-001:mask:0.5")
        }
        return Perturbation(caseID: parts[0], output: parts[1], delta: delta)
    }

    /// Throws unless the case and output exist in `index`.
    public func check(against index: FixtureIndex) throws {
        guard let c = index.case(caseID) else {
            throw HarnessError.badArgument("--perturb: no case \"\(caseID)\" in the fixtures (\(index.cases.first?.id ?? "")…\(index.cases.last?.id ?? ""))")
        }
        guard c.expected.contains(where: { $0.name == output }) else {
            throw HarnessError.badArgument("--perturb: \(caseID) has no output \"\(output)\" (outputs: \(c.expected.map(\.name).joined(separator: ", ")))")
        }
    }
}

/// Plays the model with the goldens: for a case's inputs it returns that case's expected tensors
/// (read and sha256-checked from the fixtures), optionally perturbed. The case is found from the
/// inputs themselves (their sha256 against index.json), so it works through the plain `ModelRunner`
/// interface; cases with identical inputs are served in index order.
public final class GoldenReplayRunner: ModelRunner {
    public let runtime = "golden-replay"
    public let fixtures: FixtureSet
    public let perturbation: Perturbation?
    private var casesByInputs: [String: [FixtureIndex.Case]] = [:]
    private var served: [String: Int] = [:]

    public init(fixtures: FixtureSet, perturbation: Perturbation? = nil) throws {
        self.fixtures = fixtures
        self.perturbation = perturbation
        try perturbation?.check(against: fixtures.index)
        for c in fixtures.index.cases {
            casesByInputs[Self.key(c.inputs.map { ($0.name, $0.sha256.lowercased()) }), default: []].append(c)
        }
    }

    private static func key(_ named: [(String, String)]) -> String {
        named.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }.joined(separator: ";")
    }

    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let key = Self.key(inputs.map { ($0.key, FixtureSHA256.hex(Float32IO.encode($0.value.values))) })
        guard let candidates = casesByInputs[key], !candidates.isEmpty else {
            throw HarnessError.model("golden replay: the inputs (\(inputs.keys.sorted().joined(separator: ", "))) match no fixture case")
        }
        let turn = served[key, default: 0]
        served[key] = turn + 1
        let c = candidates[min(turn, candidates.count - 1)]
        var outputs = try fixtures.expected(of: c)
        if let p = perturbation, p.caseID == c.id, let tensor = outputs[p.output] {
            outputs[p.output] = tensor.map { $0 + p.delta }
        }
        return outputs
    }
}
