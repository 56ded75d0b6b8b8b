import Foundation
import XCTest
@testable import MobilekitQAHarness

final class ReplayTests: XCTestCase {
    func testReplayOfTheGoldensPassesEveryCaseAndWritesTheIngestLayout() throws {
        let dir = try temporaryDirectory(self)
        let tree = try FixtureTree.write(at: dir.appendingPathComponent("bundle"), cases: 3)
        let fixtures = try FixtureSet.load(tree.root)
        let out = dir.appendingPathComponent("device-out")
        let harness = try HarnessRunner(fixtures: fixtures, outputDirectory: out, runner: try GoldenReplayRunner(fixtures: fixtures))
        var seen: [String] = []
        let report = try harness.run(metadata: DeviceMetadata(device: "test")) { seen.append($0.line) }
        XCTAssertTrue(report.passed, report.summaryLine)
        XCTAssertEqual(report.artifact, "models/fake.mlpackage")
        XCTAssertEqual(report.cases.map(\.caseID), ["case-000", "case-001", "case-002"])
        XCTAssertEqual(seen.count, 3)
        XCTAssertTrue(seen[0].hasPrefix("✓ case-000: mask max_abs 0 (psnr exact)"), seen[0])
        XCTAssertEqual(report.taskMetric, "mask_iou")
        XCTAssertTrue(report.summaryLine.contains("3/3"), report.summaryLine)
        XCTAssertTrue(report.note.hasPrefix("task metric mask_iou (min_task_metric 0.99) and the all-cases check are left to `mobilekit qa ingest"), report.note)
        for c in fixtures.index.cases {
            let written = try Data(contentsOf: out.appendingPathComponent("\(c.id)/mask.bin"))
            XCTAssertEqual(written, try Data(contentsOf: fixtures.url(of: c.expected[0])), c.id)  // byte-identical to the golden
        }
        let files = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".bin") || $0.hasSuffix(".json") }.sorted()
        XCTAssertEqual(files, ["case-000/mask.bin", "case-001/mask.bin", "case-002/mask.bin", "device.json"])
        let meta = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("device.json"))) as? [String: String])
        XCTAssertEqual(meta, ["device": "test", "runtime": "golden-replay", "artifact": "models/fake.mlpackage"])
        // the report serializes
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: report.jsonData()) as? [String: Any])
        XCTAssertEqual(json["passed"] as? Bool, true)
        XCTAssertEqual(try JSONDecoder().decode(HarnessReport.self, from: report.jsonData()), report)
    }

    func testPerturbedCaseFailsAndOnlyThatCase() throws {
        let dir = try temporaryDirectory(self)
        let tree = try FixtureTree.write(at: dir, cases: 3)
        let fixtures = try FixtureSet.load(tree.fixtures)
        let perturbation = try Perturbation.parse("case-001:mask:0.5")
        XCTAssertEqual(perturbation, Perturbation(caseID: "case-001", output: "mask", delta: 0.5))
        let out = dir.appendingPathComponent("out")
        let runner = try GoldenReplayRunner(fixtures: fixtures, perturbation: perturbation)
        let report = try HarnessRunner(fixtures: fixtures, outputDirectory: out, runner: runner).run()
        XCTAssertFalse(report.passed)
        XCTAssertEqual(report.failedCases, ["case-001"])
        let bad = report.cases[1]
        XCTAssertEqual(bad.outputs[0].maxAbs ?? 0, 0.5, accuracy: 1e-6)
        XCTAssertTrue(bad.line.hasPrefix("✗ case-001: mask: max_abs 0.5 > 0.01"), bad.line)
        XCTAssertTrue(report.summaryLine.contains("FAILED: 2/3"), report.summaryLine)
        let written = Float32IO.decode(try Data(contentsOf: out.appendingPathComponent("case-001/mask.bin")))
        let golden = try fixtures.read(fixtures.index.cases[1].expected[0]).values
        XCTAssertEqual(zip(written, golden).map { Double($0 - $1) }.max() ?? 0, 0.5, accuracy: 1e-6)
        // a small delta within max_abs passes; the tflite gate (1e-4) does not
        let small = try GoldenReplayRunner(fixtures: fixtures, perturbation: Perturbation(caseID: "case-002", output: "mask", delta: 0.001))
        XCTAssertTrue(try HarnessRunner(fixtures: fixtures, outputDirectory: out, runner: small).run().passed)
        let strict = try HarnessRunner(fixtures: fixtures, outputDirectory: out, runner: small, artifact: fixtures.index.artifact(named: "tflite"))
        XCTAssertEqual(try strict.run().failedCases, ["case-002"])
    }

    func testBadPerturbationsAreRefused() throws {
        let fixtures = try FixtureSet.load(try FixtureTree.write(at: try temporaryDirectory(self)).fixtures)
        for text in ["case-001:mask", "case-001:mask:x", ":mask:1", "case-001:mask:inf"] {
            XCTAssertThrowsHarnessError(try Perturbation.parse(text), containing: ["CASE:OUTPUT:DELTA"])
        }
        XCTAssertThrowsHarnessError(try GoldenReplayRunner(fixtures: fixtures, perturbation: .init(caseID: "case-009", output: "mask", delta: 1)),
                                    containing: ["no case \"case-009\""])
        XCTAssertThrowsHarnessError(try GoldenReplayRunner(fixtures: fixtures, perturbation: .init(caseID: "case-000", output: "depth", delta: 1)),
                                    containing: ["no output \"depth\""])
        XCTAssertEqual(try Perturbation.parse("case-000:mask:-1e-3").delta, -1e-3)
    }

    func testCorruptOrMissingFixtureIsBadInputNamingTheFile() throws {
        let dir = try temporaryDirectory(self)
        let tree = try FixtureTree.write(at: dir, cases: 2)
        let fixtures = try FixtureSet.load(tree.fixtures)
        let clicks = tree.fixtures.appendingPathComponent("case-001/inputs/clicks.bin")
        var bytes = try Data(contentsOf: clicks)
        bytes[5] ^= 0xff
        try bytes.write(to: clicks)
        let harness = try HarnessRunner(fixtures: fixtures, outputDirectory: dir.appendingPathComponent("out"),
                                        runner: try GoldenReplayRunner(fixtures: fixtures))
        XCTAssertThrowsHarnessError(try harness.run(), containing: ["case-001/inputs/clicks.bin", "sha256"])
        try FileManager.default.removeItem(at: clicks)
        XCTAssertThrowsHarnessError(try harness.run(), containing: ["case-001/inputs/clicks.bin", "missing"])
        try Data(count: 8).write(to: clicks)
        XCTAssertThrowsHarnessError(try harness.run(), containing: ["case-001/inputs/clicks.bin", "8 bytes, expected 96"])
    }

    /// A runner that misbehaves: checks missing / misshapen / extra outputs and model errors are case failures.
    struct BrokenRunner: ModelRunner {
        let runtime = "broken"
        let mode: String
        func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
            switch mode {
            case "throw": throw HarnessError.model("the model\ncrashed")
            case "missing": return ["other": try Tensor(shape: [1], values: [0])]
            case "shape": return ["mask": try Tensor(shape: [1, 12], values: [Float](repeating: 0, count: 12))]
            default:
                return ["mask": try Tensor(shape: [1, FixtureTree.h, FixtureTree.w, 1], values: [Float](repeating: .nan, count: 12)),
                        "extra": try Tensor(shape: [1], values: [0])]
            }
        }
    }

    func testModelProblemsAreCaseFailures() throws {
        let dir = try temporaryDirectory(self)
        let fixtures = try FixtureSet.load(try FixtureTree.write(at: dir, cases: 1).fixtures)
        func run(_ mode: String) throws -> CaseReport {
            try HarnessRunner(fixtures: fixtures, outputDirectory: dir.appendingPathComponent("out-\(mode)"),
                              runner: BrokenRunner(mode: mode)).run().cases[0]
        }
        let thrown = try run("throw")
        XCTAssertFalse(thrown.passed)
        XCTAssertEqual(thrown.failures, ["model failed: the model crashed"])
        XCTAssertEqual(try run("missing").failures, ["output mask missing (the model gave other)"])
        let shape = try run("shape")
        XCTAssertEqual(shape.outputs[0].failures, ["shape [1, 12], expected [1, 4, 3, 1]"])
        XCTAssertEqual(shape.written, ["case-000/mask.bin"])  // written anyway: qa ingest reports its size
        let nan = try run("nan")
        XCTAssertEqual(nan.outputs[0].failures, ["candidate output contains NaN/Inf"])
        XCTAssertEqual(nan.ignoredOutputs, ["extra"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out-nan/case-000/extra.bin").path))
    }

    #if os(macOS) || os(Linux)  // Process is unavailable on iOS
    /// The built CLI, when it sits beside the test bundle (SwiftPM's build directory).
    func testReplayCLIExitCodes() throws {
        // macOS: <build>/X.xctest is a bundle directory; Linux: the bundle URL is <build> itself
        let bundle = Bundle(for: ReplayTests.self).bundleURL
        let dirs = [bundle, bundle.deletingLastPathComponent(), Bundle.main.executableURL?.deletingLastPathComponent()].compactMap { $0 }
        guard let exe = dirs.map({ $0.appendingPathComponent("mobilekit-qa-replay") })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("mobilekit-qa-replay is not built beside the tests (\(dirs.map(\.path))); run `swift build` first")
        }
        let dir = try temporaryDirectory(self)
        let tree = try FixtureTree.write(at: dir.appendingPathComponent("bundle"), cases: 2)
        func cli(_ args: [String]) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = exe
            p.arguments = args
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let out = dir.appendingPathComponent("out").path
        let (ok, okOut, _) = try cli([tree.root.path, out, "--device", "ci"])
        XCTAssertEqual(ok, 0, okOut)
        XCTAssertEqual(okOut.split(separator: "\n").filter { $0.hasPrefix("✓") }.count, 2, okOut)
        let (bad, badOut, _) = try cli([tree.fixtures.path, out, "--perturb", "case-000:mask:1"])
        XCTAssertEqual(bad, 1, badOut)
        XCTAssertTrue(badOut.contains("✗ case-000") && badOut.contains("✓ case-001"), badOut)
        let (usage, _, usageErr) = try cli([tree.root.path])
        XCTAssertEqual(usage, 2)
        XCTAssertTrue(usageErr.contains("usage:"), usageErr)
        try Data("{\"format\": 3".utf8).write(to: tree.indexURL)
        let (broken, _, brokenErr) = try cli([tree.root.path, out])
        XCTAssertEqual(broken, 2)
        XCTAssertTrue(brokenErr.contains("fixtures/index.json") && brokenErr.split(separator: "\n").count == 1, brokenErr)
    }
    #endif
}
