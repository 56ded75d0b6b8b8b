import Foundation
import XCTest
@testable import MobilekitQAHarness

final class Float32IOTests: XCTestCase {
    /// struct.pack('<4f', 1.0, -2.0, 0.5, FLT_MAX).hex() == "0000803f000000c00000003fffff7f7f"
    let known: [Float] = [1.0, -2.0, 0.5, .greatestFiniteMagnitude]
    let knownBytes: [UInt8] = [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f, 0xff, 0xff, 0x7f, 0x7f]

    func testLittleEndianLayoutOfKnownValues() {
        XCTAssertEqual([UInt8](Float32IO.encode(known)), knownBytes)
        XCTAssertEqual(Float32IO.decode(Data(knownBytes)), known)
        let special: [Float] = [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, 1.0 / 3.0]
        XCTAssertEqual(Float32IO.decode(Float32IO.encode(special)).map(\.bitPattern), special.map(\.bitPattern))
        XCTAssertTrue(Float32IO.decode(Float32IO.encode([.nan]))[0].isNaN)
        // unaligned source storage still decodes
        var shifted = Data([0xAA])
        shifted.append(contentsOf: knownBytes)
        XCTAssertEqual(Float32IO.decode(shifted.subdata(in: 1..<shifted.count)), known)
        XCTAssertEqual(Float32IO.decode(Data()), [])
    }

    func testReadChecksSizeAndSha() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("t.bin")
        try Data(knownBytes).write(to: url)
        let sha = FixtureSHA256.hex(Data(knownBytes))
        let tensor = try Float32IO.read(url, shape: [1, 2, 2], sha256: sha)
        XCTAssertEqual(tensor.shape, [1, 2, 2])
        XCTAssertEqual(tensor.values, known)
        XCTAssertEqual(try Float32IO.read(url, shape: [4], sha256: sha.uppercased()).values, known)
        XCTAssertThrowsHarnessError(try Float32IO.read(url, shape: [1, 2, 3], sha256: sha), containing: ["t.bin", "16 bytes, expected 24", "1×2×3"])
        XCTAssertThrowsHarnessError(try Float32IO.read(url, shape: [4], sha256: String(repeating: "0", count: 64)),
                                    containing: ["t.bin", "sha256 \(sha) does not match index.json"])
        XCTAssertThrowsHarnessError(try Float32IO.read(dir.appendingPathComponent("gone.bin"), shape: [4]), containing: ["gone.bin", "missing"])
        XCTAssertThrowsHarnessError(try Float32IO.read(url, shape: [-1, 4]), containing: ["not a valid shape"])
    }

    func testWriteCreatesDirectoriesAndRoundTrips() throws {
        let url = try temporaryDirectory(self).appendingPathComponent("a/b/c.bin")
        try Float32IO.write(try Tensor(shape: [2, 2], values: known), to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), knownBytes)
    }

    func testTensorShapeChecks() {
        XCTAssertThrowsHarnessError(try Tensor(shape: [2, 2], values: [1, 2, 3]), containing: ["3 values for shape [2, 2]"])
        XCTAssertEqual(try Tensor.elementCount([]), 1)
        XCTAssertEqual(try Tensor.elementCount([1, 0, 3]), 0)
        XCTAssertThrowsHarnessError(try Tensor.elementCount([1 << 40, 1 << 40]), containing: ["too large"])
        XCTAssertTrue(Tensor.sameUpToUnitDimensions([1, 64, 64, 1], [1, 64, 64]))
        XCTAssertFalse(Tensor.sameUpToUnitDimensions([1, 2, 64, 64], [1, 64, 64, 2]))
    }
}
