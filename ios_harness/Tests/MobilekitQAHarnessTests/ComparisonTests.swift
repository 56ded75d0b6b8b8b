import Foundation
import XCTest
@testable import MobilekitQAHarness

final class ComparisonTests: XCTestCase {
    func t(_ values: [Float], _ shape: [Int]? = nil) throws -> Tensor { try Tensor(shape: shape ?? [1, values.count], values: values) }

    func testMetricsMatchParityMetricsPy() {
        // compare_values(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 4])): max_abs 1, mean_abs 0.25,
        // mse 0.25, peak = max - min = 3, psnr = 10 log10(9 / 0.25) = 15.563 dB
        let m = Comparison.metrics(reference: [0, 1, 2, 3], candidate: [0, 1, 2, 4])
        XCTAssertEqual(m.maxAbs, 1)
        XCTAssertEqual(m.meanAbs, 0.25)
        XCTAssertEqual(try XCTUnwrap(m.psnr), 10 * log10(9 / 0.25), accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(m.psnr), 15.563025007672874, accuracy: 1e-9)
        // identical: psnr None ("exact")
        XCTAssertEqual(Comparison.metrics(reference: [1, 2], candidate: [1, 2]), .init(maxAbs: 0, meanAbs: 0, psnr: nil))
        // constant reference: peak = max(max |ref|, 1) -> 1 for [0.5, 0.5]; mse = 0.01
        let flat = Comparison.metrics(reference: [0.5, 0.5], candidate: [0.6, 0.4])
        let mse = (pow(Double(Float(0.6)) - 0.5, 2) + pow(Double(Float(0.4)) - 0.5, 2)) / 2
        XCTAssertEqual(try XCTUnwrap(flat.psnr), 10 * log10(1 / mse), accuracy: 1e-9)
        // constant larger reference: peak = 4
        let big = Comparison.metrics(reference: [-4, -4], candidate: [-3, -5])
        XCTAssertEqual(try XCTUnwrap(big.psnr), 10 * log10(16 / 1), accuracy: 1e-12)
        XCTAssertEqual(Comparison.metrics(reference: [], candidate: []), .init(maxAbs: 0, meanAbs: 0, psnr: nil))
        XCTAssertEqual(Comparison.metrics(reference: [1], candidate: [1, 2]).maxAbs, .infinity)
    }

    func testPassFailAgainstMaxAbsAndMinPsnr() throws {
        let ref = try t([0, 1, 2, 3]), near = try t([0, 1, 2, 3.001]), far = try t([0, 1, 2, 4])
        let tol = FixtureIndex.Tolerance(maxAbs: 0.01, minPsnr: 40)
        XCTAssertTrue(Comparison.compare(name: "y", reference: ref, candidate: ref, tolerance: tol).passed)
        let ok = Comparison.compare(name: "y", reference: ref, candidate: near, tolerance: tol)
        XCTAssertTrue(ok.passed, ok.summary)
        XCTAssertTrue(ok.summary.hasPrefix("y max_abs 0.001"), ok.summary)
        let bad = Comparison.compare(name: "y", reference: ref, candidate: far, tolerance: tol)
        XCTAssertFalse(bad.passed)
        XCTAssertEqual(bad.failures, ["max_abs 1 > 0.01", "psnr 15.6 dB < 40.0 dB"])
        XCTAssertEqual(bad.summary, "y: max_abs 1 > 0.01; psnr 15.6 dB < 40.0 dB")
        // only the bounds that are set are checked
        XCTAssertTrue(Comparison.compare(name: "y", reference: ref, candidate: far, tolerance: .init(minPsnr: 10)).passed)
        XCTAssertFalse(Comparison.compare(name: "y", reference: ref, candidate: far, tolerance: .init(minPsnr: 20)).passed)
        XCTAssertTrue(Comparison.compare(name: "y", reference: ref, candidate: far, tolerance: .init(minTaskMetric: 0.99)).passed)
        XCTAssertEqual(Comparison.compare(name: "y", reference: ref, candidate: far, tolerance: .init(meanAbs: 0.1)).failures,
                       ["mean_abs 0.25 > 0.1"])
        // per-output gate
        let perOutput = FixtureIndex.Tolerance(maxAbs: 0.01, outputs: ["y": .init(maxAbs: 2)])
        XCTAssertTrue(Comparison.compare(name: "y", reference: ref, candidate: far, tolerance: perOutput).passed)
        XCTAssertFalse(Comparison.compare(name: "z", reference: ref, candidate: far, tolerance: perOutput).passed)
    }

    func testShapeAndNonFiniteFail() throws {
        let ref = try t([0, 1, 2, 3], [1, 4])
        let wrongShape = Comparison.compare(name: "y", reference: ref, candidate: try t([0, 1, 2, 3], [1, 2, 2]), tolerance: .init())
        XCTAssertEqual(wrongShape.failures, ["shape [1, 2, 2], expected [1, 4]"])
        let nan = Comparison.compare(name: "y", reference: ref, candidate: try t([0, .nan, 2, 3], [1, 4]), tolerance: .init())
        XCTAssertEqual(nan.failures, ["candidate output contains NaN/Inf"])
        let inf = Comparison.compare(name: "y", reference: try t([0, .infinity, 2, 3], [1, 4]), candidate: ref, tolerance: .init())
        XCTAssertEqual(inf.failures, ["reference output contains NaN/Inf"])
    }
}
