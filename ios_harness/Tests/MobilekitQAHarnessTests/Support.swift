import Foundation
import XCTest
@testable import MobilekitQAHarness

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase, _ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mkqa-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Writes a small fixture tree in the layout of mobilekit/qa/fixture_format.py:
/// `<root>/fixtures/index.json` + `case-NNN/{inputs,expected}/<name>.bin`, an 8-bit-grid RGB
/// image input, a tensor input and one output (a deterministic function of the inputs).
struct FixtureTree {
    static let h = 4, w = 3

    let root: URL
    var fixtures: URL { root.appendingPathComponent("fixtures") }
    var indexURL: URL { fixtures.appendingPathComponent("index.json") }

    /// `tolerances`: artifact path → tolerance dict; default one Core ML and one TFLite artifact.
    @discardableResult
    static func write(at root: URL, cases: Int = 3,
                      tolerances: [String: Any]? = nil, mutateIndex: (inout [String: Any]) -> Void = { _ in }) throws -> FixtureTree {
        let tree = FixtureTree(root: root)
        try FileManager.default.createDirectory(at: tree.fixtures, withIntermediateDirectories: true)
        var caseEntries: [[String: Any]] = []
        for i in 0..<cases {
            let id = String(format: "case-%03d", i)
            let image = (0..<(h * w * 3)).map { Float((($0 * 37 + i * 11) % 256)) * Float(1.0 / 255.0) }
            let clicks = (0..<(h * w * 2)).map { Float(($0 + i) % 7) / 7 }
            let mask = (0..<(h * w)).map { p in 0.5 * image[p * 3] + 0.25 * clicks[p * 2] + Float(i) * 0.01 }
            var tensors: [[String: Any]] = []
            for (name, role, shape, values) in [("image", "input", [1, h, w, 3], image), ("clicks", "input", [1, h, w, 2], clicks),
                                                ("mask", "expected", [1, h, w, 1], mask)] {
                let rel = "\(id)/\(role == "input" ? "inputs" : "expected")/\(name).bin"
                let data = Float32IO.encode(values)
                let url = tree.fixtures.appendingPathComponent(rel)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
                tensors.append(["name": name, "role": role, "dtype": "float32", "byte_order": "little", "shape": shape,
                                "file": rel, "bytes": data.count, "sha256": FixtureSHA256.hex(data)])
            }
            caseEntries.append(["id": id, "tensors": tensors])
        }
        var index: [String: Any] = [
            "format": "mobilekit-device-fixtures", "format_version": 1,
            "bundle": ["name": "fake", "version": "0.1.0", "platform": "ios", "family": "segmentation", "preset": "tiny", "config_sha256": "0"],
            "dtype": "float32", "byte_order": "little", "reference": "tensorflow",
            "inputs": [
                ["name": "image", "shape": [1, h, w, 3], "kind": "image",
                 "normalization": ["scale": 1.0 / 255.0, "bias": 0.0, "mean": [0, 0, 0], "std": [255, 255, 255]],
                 "feed": ["tflite": "float32 tensor", "coreml": ["as": "image", "scale": 1.0 / 255.0, "bias": 0.0,
                                                                 "pixel_range": [0, 255], "color_layout": "RGB"]]],
                ["name": "clicks", "shape": [1, h, w, 2], "kind": "tensor", "normalization": [:] as [String: Any],
                 "feed": ["tflite": "float32 tensor", "coreml": ["as": "multiarray", "dtype": "float32"]]],
            ],
            "outputs": [["name": "mask", "shape": [1, h, w, 1]]],
            "tolerances": tolerances ?? [
                "models/fake.mlpackage": ["target": "coreml", "precision": "fp16", "tolerance": ["max_abs": 0.01, "min_psnr": 40.0, "min_task_metric": 0.99]],
                "models/fake.tflite": ["target": "tflite", "precision": "fp32", "tolerance": ["max_abs": 1e-4]],
            ],
            "task_metric": "mask_iou",
            "device_outputs": ["file": "<case>/<output>.bin", "dtype": "float32", "byte_order": "little"],
            "cases": caseEntries,
        ]
        mutateIndex(&index)
        try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys]).write(to: tree.indexURL)
        return tree
    }

    static func indexJSON(_ mutate: (inout [String: Any]) -> Void = { _ in }) throws -> Data {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mkqa-index-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let tree = try write(at: root, cases: 2, mutateIndex: mutate)
        return try Data(contentsOf: tree.indexURL)
    }
}

func XCTAssertThrowsHarnessError(_ expression: @autoclosure () throws -> Any, containing fragments: [String],
                                 file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try expression()
        XCTFail("expected a HarnessError containing \(fragments)", file: file, line: line)
    } catch let error as HarnessError {
        for fragment in fragments {
            XCTAssertTrue(error.description.contains(fragment), "\"\(error.description)\" lacks \"\(fragment)\"", file: file, line: line)
        }
        XCTAssertFalse(error.description.contains("\n"), "error is not one line: \(error.description)", file: file, line: line)
    } catch {
        XCTFail("expected a HarnessError, got \(error)", file: file, line: line)
    }
}
