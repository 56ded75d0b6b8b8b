import Foundation
import XCTest
@testable import MobilekitQAHarness

final class FixtureIndexTests: XCTestCase {
    func testDecodesAGoodIndex() throws {
        let index = try FixtureIndex.decode(try FixtureTree.indexJSON())
        XCTAssertEqual(index.format, "mobilekit-device-fixtures")
        XCTAssertEqual(index.formatVersion, 1)
        XCTAssertEqual(index.cases.map(\.id), ["case-000", "case-001"])
        XCTAssertEqual(index.cases[1].inputs.map(\.name), ["image", "clicks"])
        XCTAssertEqual(index.cases[1].expected.map(\.file), ["case-001/expected/mask.bin"])
        XCTAssertEqual(index.cases[0].expected[0].shape, [1, FixtureTree.h, FixtureTree.w, 1])
        XCTAssertEqual(index.cases[0].expected[0].bytes, FixtureTree.h * FixtureTree.w * 4)
        XCTAssertEqual(index.outputs, [FixtureIndex.OutputSpec(name: "mask", shape: [1, FixtureTree.h, FixtureTree.w, 1])])
        XCTAssertEqual(index.taskMetric, "mask_iou")
        let image = index.inputs[0]
        XCTAssertTrue(image.isImage)
        XCTAssertEqual(image.pixelScale, 1.0 / 255.0, accuracy: 1e-15)
        XCTAssertEqual(image.pixelBias, 0)
        XCTAssertEqual(image.colorLayout, "RGB")
        XCTAssertFalse(index.inputs[1].isImage)
        XCTAssertEqual(index.inputs[1].feed?.coreml?.representation, "multiarray")
        // artifact paths are dictionary keys: kept verbatim (no snake-case conversion)
        XCTAssertEqual(Set(index.tolerances.keys), ["models/fake.mlpackage", "models/fake.tflite"])
        XCTAssertEqual(index.tolerances["models/fake.mlpackage"]?.tolerance,
                       FixtureIndex.Tolerance(maxAbs: 0.01, minPsnr: 40, minTaskMetric: 0.99))
    }

    func testRejectsAnotherFormatOrVersion() throws {
        let other = try FixtureTree.indexJSON { $0["format"] = "mobilekit-shader-fixtures" }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(other, path: "x/index.json"),
                                    containing: ["x/index.json", "not mobilekit-device-fixtures version 1", "mobilekit-shader-fixtures"])
        let v2 = try FixtureTree.indexJSON { $0["format_version"] = 2 }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(v2), containing: ["not mobilekit-device-fixtures version 1", "version 2"])
        let none = try FixtureTree.indexJSON { $0["format"] = nil }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(none), containing: ["format missing"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(Data("{not json".utf8), path: "i.json"), containing: ["i.json", "not valid JSON"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(Data("[1, 2]".utf8)), containing: ["index.json"])
    }

    func testMissingFieldIsNamed() throws {
        let noCases = try FixtureTree.indexJSON { $0["cases"] = nil }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(noCases), containing: ["missing field 'cases'"])
        let noSha = try FixtureTree.indexJSON { index in
            var cases = index["cases"] as! [[String: Any]]
            var tensors = cases[1]["tensors"] as! [[String: Any]]
            tensors[2]["sha256"] = nil
            cases[1]["tensors"] = tensors
            index["cases"] = cases
        }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(noSha), containing: ["missing field 'cases[1].tensors[2].sha256'"])
        let badShape = try FixtureTree.indexJSON { index in
            var outputs = index["outputs"] as! [[String: Any]]
            outputs[0]["shape"] = "1x4"
            index["outputs"] = outputs
        }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(badShape), containing: ["outputs[0].shape"])
    }

    func testRejectsUnsafePathsNamesAndSizes() throws {
        func mutateTensor(_ change: @escaping (inout [String: Any]) -> Void) throws -> Data {
            try FixtureTree.indexJSON { index in
                var cases = index["cases"] as! [[String: Any]]
                var tensors = cases[0]["tensors"] as! [[String: Any]]
                change(&tensors[0])
                cases[0]["tensors"] = tensors
                index["cases"] = cases
            }
        }
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["file"] = "../../etc/passwd" }), containing: ["not a path inside fixtures/"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["file"] = "/abs.bin" }), containing: ["not a path inside fixtures/"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["name"] = "a/b" }), containing: ["name cannot be a file name"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["bytes"] = 12 }), containing: ["bytes 12"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["dtype"] = "float16" }), containing: ["float16"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["byte_order"] = "big" }), containing: ["big"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["shape"] = [1, -4, 3] }), containing: ["not a valid shape"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["shape"] = [Int.max, Int.max] }), containing: ["not a valid shape"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["role"] = "output" }), containing: ["role \"output\""])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try mutateTensor { $0["sha256"] = "abc" }), containing: ["64 hex digits"])
        XCTAssertThrowsHarnessError(try FixtureIndex.decode(try FixtureTree.indexJSON { $0["cases"] = [] as [Any] }), containing: ["no cases"])
    }

    func testArtifactSelection() throws {
        let index = try FixtureIndex.decode(try FixtureTree.indexJSON())
        XCTAssertEqual(try index.coreMLArtifact().path, "models/fake.mlpackage")
        XCTAssertEqual(try index.defaultArtifact().path, "models/fake.mlpackage")
        XCTAssertEqual(try index.artifact(named: "models/fake.tflite").tolerance.maxAbs, 1e-4)
        XCTAssertEqual(try index.artifact(named: "fake.tflite").path, "models/fake.tflite")
        XCTAssertEqual(try index.artifact(named: "tflite").path, "models/fake.tflite")
        XCTAssertEqual(try index.defaultArtifact(named: "coreml").precision, "fp16")
        XCTAssertThrowsHarnessError(try index.artifact(named: "onnx"), containing: ["\"onnx\"", "models/fake.mlpackage, models/fake.tflite"])

        let android = try FixtureIndex.decode(try FixtureTree.indexJSON {
            $0["tolerances"] = ["models/fake.tflite": ["target": "tflite", "precision": "fp32", "tolerance": ["max_abs": 1e-4]]]
        })
        XCTAssertThrowsHarnessError(try android.coreMLArtifact(), containing: ["no Core ML artifact", "models/fake.tflite"])
        XCTAssertEqual(try android.defaultArtifact().path, "models/fake.tflite")  // the only one

        let two = try FixtureIndex.decode(try FixtureTree.indexJSON {
            $0["tolerances"] = ["a.tflite": ["tolerance": [:] as [String: Any]], "b.tflite": ["tolerance": [:] as [String: Any]]]
        })
        XCTAssertThrowsHarnessError(try two.defaultArtifact(), containing: ["2 artifacts", "a.tflite, b.tflite"])
    }

    func testPerOutputToleranceAndSummary() {
        let tol = FixtureIndex.Tolerance(maxAbs: 1e-4, minTaskMetric: 0.999, outputs: ["depth": .init(maxAbs: 0.5)])
        XCTAssertEqual(tol.forOutput("depth"), FixtureIndex.Tolerance(maxAbs: 0.5))
        XCTAssertEqual(tol.forOutput("mask"), FixtureIndex.Tolerance(maxAbs: 1e-4, minTaskMetric: 0.999))
        XCTAssertEqual(tol.summary, "max_abs 0.0001, own gates for depth (max_abs 0.5)")
        XCTAssertEqual(tol.taskBounds, "min_task_metric 0.999")
        XCTAssertEqual(FixtureIndex.Tolerance().summary, "no value bounds")
        XCTAssertNil(FixtureIndex.Tolerance(minPsnr: 30).taskBounds)
    }

    func testFixtureSetLoadsFromBundleRootFixturesDirOrIndex() throws {
        let root = try temporaryDirectory(self)
        let tree = try FixtureTree.write(at: root)
        for url in [root, tree.fixtures, tree.indexURL] {
            let set = try FixtureSet.load(url)
            XCTAssertEqual(set.directory.standardizedFileURL.path, tree.fixtures.standardizedFileURL.path)
            XCTAssertEqual(set.index.cases.count, 3)
        }
        XCTAssertThrowsHarnessError(try FixtureSet.load(root.appendingPathComponent("nope")), containing: ["nope", "not found"])
        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsHarnessError(try FixtureSet.load(empty), containing: ["empty/index.json", "mobilekit qa fixtures"])
    }

    func testModelURLPrefersACompiledModel() throws {
        let root = try temporaryDirectory(self)
        let set = try FixtureSet.load(try FixtureTree.write(at: root).fixtures)
        let artifact = try set.index.coreMLArtifact()
        XCTAssertThrowsHarnessError(try set.modelURL(for: artifact), containing: ["models/fake.mlpackage", "not found"])
        let models = root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models.appendingPathComponent("fake.mlpackage"), withIntermediateDirectories: true)
        XCTAssertEqual(try set.modelURL(for: artifact).lastPathComponent, "fake.mlpackage")
        try FileManager.default.createDirectory(at: models.appendingPathComponent("fake.mlmodelc"), withIntermediateDirectories: true)
        XCTAssertEqual(try set.modelURL(for: artifact).lastPathComponent, "fake.mlmodelc")
    }
}
