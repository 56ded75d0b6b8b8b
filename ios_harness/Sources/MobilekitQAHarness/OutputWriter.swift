import Foundation

/// `device.json`: what ran. All fields are optional strings; nil ones are left out of the file.
/// `artifact` (the path listed in the fixtures' tolerances) tells `qa ingest` which tolerance applies.
public struct DeviceMetadata: Codable, Equatable, Sendable {
    public var device: String?
    public var os: String?
    public var runtime: String?
    public var artifact: String?
    public var computeUnits: String?

    enum CodingKeys: String, CodingKey {
        case device, os, runtime, artifact, computeUnits = "compute_units"
    }

    public init(device: String? = nil, os: String? = nil, runtime: String? = nil, artifact: String? = nil, computeUnits: String? = nil) {
        (self.device, self.os, self.runtime, self.artifact, self.computeUnits) = (device, os, runtime, artifact, computeUnits)
    }

    /// The hardware model: `SIMULATOR_MODEL_IDENTIFIER` in a simulator, else uname's machine
    /// ("iPhone15,2" on a device, "arm64"/"x86_64" on a Mac or Linux).
    public static var currentMachine: String {
        if let simulated = ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"], !simulated.isEmpty {
            return simulated + " (simulator)"
        }
        var info = utsname()
        guard uname(&info) == 0 else { return "unknown" }
        let machine = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return machine.isEmpty ? "unknown" : machine
    }

    /// This machine's OS, e.g. "Version 17.5 (Build 21F79)" on iOS, the kernel version string on Linux.
    public static var currentOS: String {
        #if os(iOS)
        return "iOS " + ProcessInfo.processInfo.operatingSystemVersionString
        #elseif os(macOS)
        return "macOS " + ProcessInfo.processInfo.operatingSystemVersionString
        #elseif os(Linux)
        return "Linux " + ProcessInfo.processInfo.operatingSystemVersionString
        #else
        return ProcessInfo.processInfo.operatingSystemVersionString
        #endif
    }
}

/// Writes the layout `mobilekit qa ingest --outputs OUT` reads:
///
///     OUT/device.json                  optional metadata
///     OUT/<case id>/<output name>.bin  raw float32 little-endian, the output's shape
public struct OutputWriter: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `OUT/<case>/<output>.bin`.
    public func url(case caseID: String, output: String) -> URL {
        directory.appendingPathComponent(caseID).appendingPathComponent(output + ".bin")
    }

    public var deviceMetadataURL: URL { directory.appendingPathComponent(FixtureIndex.deviceMetadataName) }

    /// Create OUT (and parents).
    public func prepare() throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw HarnessError.io(path: directory.path, reason: "cannot create the outputs directory (\(error.localizedDescription))")
        }
    }

    /// Write one case's output. Names must be file-name safe (index.json's are checked on load).
    @discardableResult
    public func write(_ tensor: Tensor, case caseID: String, output: String) throws -> URL {
        guard FixtureIndex.isSafeName(caseID), FixtureIndex.isSafeName(output) else {
            throw HarnessError.badArgument("\(caseID)/\(output): not a safe file name")
        }
        let url = url(case: caseID, output: output)
        try Float32IO.write(tensor, to: url)
        return url
    }

    /// Write `OUT/device.json` (sorted keys, nil fields left out).
    @discardableResult
    public func writeDeviceMetadata(_ metadata: DeviceMetadata) throws -> URL {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            try prepare()
            var data = try encoder.encode(metadata)
            data.append(0x0a)
            try data.write(to: deviceMetadataURL, options: .atomic)
        } catch let error as HarnessError {
            throw error
        } catch {
            throw HarnessError.io(path: deviceMetadataURL.path, reason: "cannot write (\(error.localizedDescription))")
        }
        return deviceMetadataURL
    }
}
