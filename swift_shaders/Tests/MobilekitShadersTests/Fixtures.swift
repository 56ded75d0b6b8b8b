import Foundation
import XCTest
@testable import MobilekitShaders

/// Reader for Fixtures/manifest.json + raw little-endian float32 .bin files
/// (written by `python -m mobilekit.shaders.fixtures`; layout in swift_shaders/README.md).
struct FixtureArray {
    let shape: [Int]
    let values: [Float]

    func image() throws -> MKImage {
        guard shape.count == 4 else { throw MKShaderError.invalidArgument("fixture array is not NHWC: \(shape)") }
        return try MKImage(batch: shape[0], height: shape[1], width: shape[2], channels: shape[3], data: values)
    }
}

struct FixtureCase {
    let name: String
    let op: String
    let source: String
    let params: [String: Any]
    let atol: Float
    let inputs: [String: FixtureArray]
    let outputs: [String: FixtureArray]

    func int(_ key: String) -> Int { (params[key] as? NSNumber)?.intValue ?? 0 }
    func float(_ key: String) -> Float { (params[key] as? NSNumber)?.floatValue ?? 0 }
    func bool(_ key: String) -> Bool { (params[key] as? NSNumber)?.boolValue ?? false }
}

enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func readFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        guard data.count % 4 == 0 else { throw MKShaderError.invalidArgument("\(url.lastPathComponent): size not a multiple of 4") }
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { i in Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
        }
    }

    static func arrays(_ any: Any?) throws -> [String: FixtureArray] {
        guard let dict = any as? [String: Any] else { return [:] }
        var out: [String: FixtureArray] = [:]
        for (key, value) in dict {
            guard let entry = value as? [String: Any], let file = entry["file"] as? String,
                  let shape = entry["shape"] as? [NSNumber], entry["dtype"] as? String == "float32" else {
                throw MKShaderError.invalidArgument("malformed array entry \(key)")
            }
            let values = try readFloats(directory.appendingPathComponent(file))
            let dims = shape.map { $0.intValue }
            guard values.count == dims.reduce(1, *) else {
                throw MKShaderError.invalidArgument("\(file): \(values.count) values for shape \(dims)")
            }
            out[key] = FixtureArray(shape: dims, values: values)
        }
        return out
    }

    static func load() throws -> [FixtureCase] {
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              root["format"] as? String == "mobilekit-shader-fixtures",
              (root["version"] as? NSNumber)?.intValue == 1,
              let cases = root["cases"] as? [[String: Any]] else {
            throw MKShaderError.invalidArgument("Fixtures/manifest.json: unknown format")
        }
        return try cases.map { c in
            FixtureCase(name: c["name"] as? String ?? "?", op: c["op"] as? String ?? "?",
                        source: c["source"] as? String ?? "?", params: c["params"] as? [String: Any] ?? [:],
                        atol: (c["atol"] as? NSNumber)?.floatValue ?? 0,
                        inputs: try arrays(c["inputs"]), outputs: try arrays(c["outputs"]))
        }
    }

    static func cases(_ op: String) throws -> [FixtureCase] {
        let all = try load().filter { $0.op == op }
        XCTAssertFalse(all.isEmpty, "no fixture cases for \(op)")
        return all
    }

    static func clicks(_ c: FixtureCase) -> [MKClickPoint] {
        let raw = c.params["clicks"] as? [[NSNumber]] ?? []
        return raw.map { MKClickPoint(y: $0[0].intValue, x: $0[1].intValue, positive: $0[2].intValue != 0) }
    }
}

/// Max |a - b| (NaN counts as infinite); fails the test with the case name when above `atol`.
func assertClose(_ got: MKImage, _ want: FixtureArray, atol: Float, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.shape, want.shape, "\(label): shape", file: file, line: line)
    guard got.shape == want.shape else { return }
    var worst: Float = 0
    var at = 0
    for i in 0..<got.data.count {
        let d = abs(got.data[i] - want.values[i])
        let dd = d.isNaN ? Float.infinity : d
        if dd > worst { worst = dd; at = i }
    }
    print("parity \(label): max abs diff \(worst) (atol \(atol))")
    XCTAssertLessThanOrEqual(worst, atol, "\(label): max abs diff \(worst) at flat index \(at) (got \(got.data[at]), want \(want.values[at]))",
                             file: file, line: line)
}
