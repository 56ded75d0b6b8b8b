import Foundation

/// The on-device verdict of one case.
public struct CaseReport: Codable, Equatable, Sendable {
    public let caseID: String
    public let passed: Bool
    /// One per expected output that the model produced with the right name.
    public let outputs: [OutputComparison]
    /// Case-level problems: the model failed, an output is missing or misshapen.
    public let failures: [String]
    /// Outputs the model produced that the fixtures do not list (not written, not judged).
    public let ignoredOutputs: [String]
    /// Files written under the outputs directory, relative to it.
    public let written: [String]
    /// Wall time of the model run, seconds.
    public let seconds: Double

    enum CodingKeys: String, CodingKey {
        case caseID = "case", passed, outputs, failures, ignoredOutputs = "ignored_outputs", written, seconds
    }

    /// "✓ case-000: mask max_abs 0 (psnr exact)" / "✗ case-001: mask: max_abs 0.5 > 0.0001".
    public var line: String {
        let parts = failures + outputs.filter { passed || !$0.passed }.map(\.summary)
        return "\(passed ? "✓" : "✗") \(caseID): \(parts.joined(separator: "; "))"
    }
}

/// The run over all cases.
public struct HarnessReport: Codable, Equatable, Sendable {
    public let artifact: String
    public let target: String?
    public let precision: String?
    public let tolerance: FixtureIndex.Tolerance
    public let runtime: String
    public let outputsDirectory: String
    public let cases: [CaseReport]
    /// The family's task metric (e.g. "mask_iou"): judged by `mobilekit qa ingest`, not on the device.
    public let taskMetric: String?
    public let note: String

    enum CodingKeys: String, CodingKey {
        case artifact, target, precision, tolerance, runtime, outputsDirectory = "outputs_dir", cases
        case taskMetric = "task_metric", note, passed
    }

    /// Every case passed the on-device comparison.
    public var passed: Bool { !cases.isEmpty && cases.allSatisfy(\.passed) }
    public var failedCases: [String] { cases.filter { !$0.passed }.map(\.caseID) }

    public init(artifact: String, target: String?, precision: String?, tolerance: FixtureIndex.Tolerance, runtime: String,
                outputsDirectory: String, cases: [CaseReport], taskMetric: String?, note: String) {
        (self.artifact, self.target, self.precision, self.tolerance) = (artifact, target, precision, tolerance)
        (self.runtime, self.outputsDirectory, self.cases, self.taskMetric, self.note) = (runtime, outputsDirectory, cases, taskMetric, note)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        artifact = try c.decode(String.self, forKey: .artifact)
        target = try c.decodeIfPresent(String.self, forKey: .target)
        precision = try c.decodeIfPresent(String.self, forKey: .precision)
        tolerance = try c.decode(FixtureIndex.Tolerance.self, forKey: .tolerance)
        runtime = try c.decode(String.self, forKey: .runtime)
        outputsDirectory = try c.decode(String.self, forKey: .outputsDirectory)
        cases = try c.decode([CaseReport].self, forKey: .cases)
        taskMetric = try c.decodeIfPresent(String.self, forKey: .taskMetric)
        note = try c.decode(String.self, forKey: .note)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(artifact, forKey: .artifact)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encodeIfPresent(precision, forKey: .precision)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(runtime, forKey: .runtime)
        try c.encode(outputsDirectory, forKey: .outputsDirectory)
        try c.encode(cases, forKey: .cases)
        try c.encodeIfPresent(taskMetric, forKey: .taskMetric)
        try c.encode(note, forKey: .note)
        try c.encode(passed, forKey: .passed)
    }

    /// "on-device comparison passed: 4/4 case(s) …" plus what is left to `qa ingest`.
    public var summaryLine: String {
        let ok = cases.count - failedCases.count
        return "on-device comparison \(passed ? "passed" : "FAILED"): \(ok)/\(cases.count) case(s), \(artifact) " +
            "[\(tolerance.summary)]; \(note)"
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// Runs every case of a fixture set through a `ModelRunner`: reads the inputs (size + sha256
/// checked), runs the model, checks the output names and shapes, writes `OUT/<case>/<output>.bin`
/// (and `OUT/device.json` when given metadata) and compares each output with the golden under the
/// artifact's tolerance.
///
/// Bad fixtures (missing / corrupt .bin) and unwritable outputs throw `HarnessError`; a model that
/// fails a case, a missing or misshapen output are that case's failures (the run goes on).
public final class HarnessRunner {
    public let fixtures: FixtureSet
    public let runner: ModelRunner
    public let writer: OutputWriter
    public let artifact: FixtureIndex.SelectedArtifact

    /// `artifact`: the tolerance to judge with (default: `index.defaultArtifact()`: the Core ML one,
    /// else the only one listed).
    public init(fixtures: FixtureSet, outputDirectory: URL, runner: ModelRunner,
                artifact: FixtureIndex.SelectedArtifact? = nil) throws {
        self.fixtures = fixtures
        self.runner = runner
        self.writer = OutputWriter(directory: outputDirectory)
        self.artifact = try artifact ?? fixtures.index.defaultArtifact()
    }

    /// Run every case in index order; `onCase` sees each report as soon as it is done.
    /// `metadata` (if given) is written to device.json, with `runtime` and `artifact` filled in when nil.
    public func run(metadata: DeviceMetadata? = nil, onCase: ((CaseReport) -> Void)? = nil) throws -> HarnessReport {
        try writer.prepare()
        if var meta = metadata {
            meta.runtime = meta.runtime ?? runner.runtime
            meta.artifact = meta.artifact ?? artifact.path
            try writer.writeDeviceMetadata(meta)
        }
        var reports: [CaseReport] = []
        for c in fixtures.index.cases {
            let report = try runCase(c)
            onCase?(report)
            reports.append(report)
        }
        let task = fixtures.index.taskMetric
        let bounds = artifact.tolerance.taskBounds.map { " (\($0))" } ?? ""
        let note = (task.map { "task metric \($0)\(bounds) and " } ?? "task metrics\(bounds) and ") +
            "the all-cases check are left to `mobilekit qa ingest --bundle B --outputs \(writer.directory.path)`"
        return HarnessReport(artifact: artifact.path, target: artifact.target, precision: artifact.precision,
                             tolerance: artifact.tolerance, runtime: runner.runtime, outputsDirectory: writer.directory.path,
                             cases: reports, taskMetric: task, note: note)
    }

    /// One case (public for callers that want their own loop, e.g. one XCTest activity per case).
    public func runCase(_ c: FixtureIndex.Case) throws -> CaseReport {
        let inputs = try fixtures.inputs(of: c)
        let expected = try fixtures.expected(of: c)
        let start = Date()
        let produced: [String: Tensor]
        do {
            produced = try runner.run(inputs)
        } catch {
            let why = (error as? HarnessError)?.description ?? "\(error)"
            return CaseReport(caseID: c.id, passed: false, outputs: [], failures: ["model failed: \(HarnessError.oneLine(why))"],
                              ignoredOutputs: [], written: [], seconds: Date().timeIntervalSince(start))
        }
        let seconds = Date().timeIntervalSince(start)
        var failures: [String] = []
        var comparisons: [OutputComparison] = []
        var written: [String] = []
        for entry in c.expected {
            guard let reference = expected[entry.name] else { continue }
            guard let candidate = produced[entry.name] else {
                failures.append("output \(entry.name) missing (the model gave \(produced.keys.sorted().joined(separator: ", ")))")
                continue
            }
            try writer.write(candidate, case: c.id, output: entry.name)
            written.append("\(c.id)/\(entry.name).bin")
            comparisons.append(Comparison.compare(name: entry.name, reference: reference, candidate: candidate,
                                                  tolerance: artifact.tolerance))
        }
        let ignored = produced.keys.filter { expected[$0] == nil }.sorted()
        let passed = failures.isEmpty && comparisons.allSatisfy(\.passed)
        return CaseReport(caseID: c.id, passed: passed, outputs: comparisons, failures: failures,
                          ignoredOutputs: ignored, written: written, seconds: seconds)
    }
}
