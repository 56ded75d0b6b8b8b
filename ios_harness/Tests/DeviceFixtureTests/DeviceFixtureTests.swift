// Runs a bundle's Core ML model on every fixture case, on an iOS device / simulator or a Mac.
//
//   MOBILEKIT_QA_BUNDLE         the unzipped bundle (or its fixtures/ directory). A relative path is
//                               looked up in this test bundle's resources, then the main bundle's,
//                               then the working directory. Unset: the test skips.
//   MOBILEKIT_QA_OUT            where to write <case>/<output>.bin + device.json
//                               (default: <temporary directory>/mobilekit-qa-out).
//   MOBILEKIT_QA_ARTIFACT       optional: which artifact's tolerance applies (default: the .mlpackage).
//   MOBILEKIT_QA_MODEL          optional: the model to load (default: <bundle>/<artifact path>, or a
//                               compiled .mlmodelc of the same name beside it / in the test bundle).
//   MOBILEKIT_QA_COMPUTE_UNITS  optional: all (default) | cpuOnly | cpuAndGPU | cpuAndNeuralEngine.
//
// With `xcodebuild test`, pass them as TEST_RUNNER_MOBILEKIT_QA_BUNDLE=… (xcodebuild strips the prefix).
// On Linux (no Core ML) the test skips.
import Foundation
import XCTest
import MobilekitQAHarness
#if canImport(CoreML)
import CoreML
#endif

final class DeviceFixtureTests: XCTestCase {
    func testEveryFixtureCasePassesWithCoreML() throws {
        #if canImport(CoreML)
        let env = ProcessInfo.processInfo.environment
        guard let bundlePath = env["MOBILEKIT_QA_BUNDLE"], !bundlePath.isEmpty else {
            throw XCTSkip("MOBILEKIT_QA_BUNDLE is not set: point it at an unzipped mobilekit bundle with fixtures/ " +
                          "(see ios_harness/README.md) to run the device fixtures")
        }
        let fixtures = try FixtureSet.load(try resolve(bundlePath))
        let artifact = try fixtures.index.coreMLArtifact(named: env["MOBILEKIT_QA_ARTIFACT"].flatMap { $0.isEmpty ? nil : $0 })
        let modelURL: URL
        if let explicit = env["MOBILEKIT_QA_MODEL"], !explicit.isEmpty {
            modelURL = try resolve(explicit)
        } else {
            modelURL = try fixtures.modelURL(for: artifact, searching: searchDirectories())
        }
        var units = MLComputeUnits.all
        if let name = env["MOBILEKIT_QA_COMPUTE_UNITS"], !name.isEmpty {
            guard let parsed = CoreMLModelRunner.computeUnits(named: name) else {
                XCTFail("MOBILEKIT_QA_COMPUTE_UNITS=\(name): use all, cpuOnly, cpuAndGPU or cpuAndNeuralEngine")
                return
            }
            units = parsed
        }
        let out = env["MOBILEKIT_QA_OUT"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("mobilekit-qa-out")
        let runner = try CoreMLModelRunner(modelURL: modelURL, index: fixtures.index, computeUnits: units)
        let harness = try HarnessRunner(fixtures: fixtures, outputDirectory: out, runner: runner, artifact: artifact)
        let metadata = DeviceMetadata(device: DeviceMetadata.currentMachine, os: DeviceMetadata.currentOS,
                                      runtime: runner.runtime, artifact: artifact.path, computeUnits: runner.computeUnitsName)
        let report = try harness.run(metadata: metadata) { caseReport in
            print(caseReport.line)
            XCTAssertTrue(caseReport.passed, caseReport.line)
        }
        print(report.summaryLine)
        print("outputs: \(out.path)")
        let attachment = XCTAttachment(data: try report.jsonData(), uniformTypeIdentifier: "public.json")
        attachment.name = "mobilekit-qa-report.json"
        attachment.lifetime = .keepAlways
        add(attachment)
        XCTAssertTrue(report.passed, report.summaryLine)
        #else
        throw XCTSkip("Core ML is not available on this platform: DeviceFixtureTests runs on an iOS device/simulator or macOS")
        #endif
    }

    #if canImport(CoreML)
    private func searchDirectories() -> [URL] {
        [Bundle(for: DeviceFixtureTests.self).resourceURL, Bundle.main.resourceURL].compactMap { $0 }
    }

    /// An absolute path as is; a relative one in the test bundle's resources, the main bundle's, the working directory.
    private func resolve(_ path: String) throws -> URL {
        if path.hasPrefix("/") { return URL(fileURLWithPath: path) }
        let bases = searchDirectories() + [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        for base in bases {
            let url = base.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw HarnessError.badFixture(path: path, reason: "not found in the test bundle, the app bundle or \(FileManager.default.currentDirectoryPath)")
    }
    #endif
}
