import Foundation
import XCTest
@testable import MobilekitQAHarness

final class OutputWriterTests: XCTestCase {
    func testLayoutIsCaseSlashOutputBin() throws {
        let out = try temporaryDirectory(self).appendingPathComponent("device-out")
        let writer = OutputWriter(directory: out)
        try writer.prepare()
        let url = try writer.write(try Tensor(shape: [1, 2, 1], values: [0.25, -1]), case: "case-007", output: "mask")
        XCTAssertEqual(url.path, out.appendingPathComponent("case-007/mask.bin").path)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), [0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x80, 0xbf])
        XCTAssertThrowsHarnessError(try writer.write(try Tensor(shape: [1], values: [0]), case: "../x", output: "mask"), containing: ["not a safe file name"])
    }

    func testDeviceJSONHasStringFieldsAndLeavesOutNil() throws {
        let out = try temporaryDirectory(self)
        let writer = OutputWriter(directory: out)
        let url = try writer.writeDeviceMetadata(DeviceMetadata(device: "iPhone15,2", os: "iOS 17.5", runtime: "coreml",
                                                                artifact: "models/fake.mlpackage", computeUnits: "all"))
        XCTAssertEqual(url.lastPathComponent, "device.json")
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String])
        XCTAssertEqual(json, ["device": "iPhone15,2", "os": "iOS 17.5", "runtime": "coreml",
                              "artifact": "models/fake.mlpackage", "compute_units": "all"])
        XCTAssertTrue(try String(contentsOf: url, encoding: .utf8).contains("\"models/fake.mlpackage\""))  // slashes not escaped
        try writer.writeDeviceMetadata(DeviceMetadata(device: "Sim", runtime: "golden-replay"))
        let partial = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: String])
        XCTAssertEqual(partial, ["device": "Sim", "runtime": "golden-replay"])
        XCTAssertFalse(DeviceMetadata.currentMachine.isEmpty)
        XCTAssertFalse(DeviceMetadata.currentOS.isEmpty)
    }
}
