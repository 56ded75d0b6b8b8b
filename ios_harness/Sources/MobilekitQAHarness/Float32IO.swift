import Foundation

/// The wire format of every fixture and device-output `.bin`: raw float32, **little-endian**,
/// row-major (C order), no header, `product(shape) * 4` bytes. Conversion is explicit
/// (`UInt32(littleEndian:)` / `.littleEndian`), so it is right whatever the host byte order.
public enum Float32IO {
    /// Decode little-endian float32 bytes (a trailing partial value is ignored; callers check the size).
    public static func decode(_ data: Data) -> [Float] {
        let count = data.count / 4
        guard count > 0 else { return [] }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            [Float](unsafeUninitializedCapacity: count) { out, initialized in
                for i in 0..<count {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
                    out[i] = Float(bitPattern: bits)
                }
                initialized = count
            }
        }
    }

    /// Encode as little-endian float32 bytes.
    public static func encode(_ values: [Float]) -> Data {
        var data = Data(count: values.count * 4)
        data.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            for (i, v) in values.enumerated() {
                raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i &* 4, as: UInt32.self)
            }
        }
        return data
    }

    /// Read `url` as a tensor of `shape`, checking its size is `product(shape) * 4` and, when given,
    /// its sha256 (hex, as in index.json). Errors name the file.
    public static func read(_ url: URL, shape: [Int], sha256: String? = nil) throws -> Tensor {
        let count: Int
        do { count = try Tensor.elementCount(shape) } catch {
            throw HarnessError.badFixture(path: url.path, reason: "shape \(shape) is not a valid shape")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw HarnessError.badFixture(path: url.path, reason: exists ? "cannot read (\(error.localizedDescription))"
                                                                         : "listed in index.json but missing")
        }
        guard data.count == count * 4 else {
            throw HarnessError.badFixture(path: url.path, reason: "\(data.count) bytes, expected \(count * 4) " +
                                          "(float32 little-endian, shape \(shape.map(String.init).joined(separator: "×")))")
        }
        if let sha256 {
            let actual = FixtureSHA256.hex(data)
            guard actual == sha256.lowercased() else {
                throw HarnessError.badFixture(path: url.path, reason: "sha256 \(actual) does not match index.json (\(sha256.lowercased())): corrupt fixture")
            }
        }
        return try Tensor(shape: shape, values: decode(data))
    }

    /// Write values as a `.bin`, creating parent directories; atomic (no half-written file).
    public static func write(_ values: [Float], to url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try encode(values).write(to: url, options: .atomic)
        } catch {
            throw HarnessError.io(path: url.path, reason: "cannot write (\(error.localizedDescription))")
        }
    }

    public static func write(_ tensor: Tensor, to url: URL) throws { try write(tensor.values, to: url) }
}
