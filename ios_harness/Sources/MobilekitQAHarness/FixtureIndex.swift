import Foundation

/// `fixtures/index.json` of a mobilekit bundle: format `mobilekit-device-fixtures`, version 1
/// (written by `mobilekit qa fixtures`; mobilekit/qa/fixture_format.py is the reference).
///
/// Only what the harness needs is modelled; unknown keys are ignored. Keys are spelled out in
/// `CodingKeys` (no `.convertFromSnakeCase`: that strategy would also rewrite dictionary keys such as
/// artifact paths and output names).
public struct FixtureIndex: Decodable, Sendable {
    public static let format = "mobilekit-device-fixtures"
    public static let formatVersion = 1
    public static let indexName = "index.json"
    public static let deviceMetadataName = "device.json"

    public struct Normalization: Decodable, Sendable, Equatable {
        public let scale: Double?
        public let bias: Double?
    }

    /// `feed.coreml` of an input: `as` is "image" (8-bit pixels, the model applies scale/bias) or "multiarray".
    public struct CoreMLFeed: Decodable, Sendable, Equatable {
        public let representation: String
        public let scale: Double?
        public let bias: Double?
        public let colorLayout: String?

        enum CodingKeys: String, CodingKey {
            case representation = "as", scale, bias, colorLayout = "color_layout"
        }
    }

    public struct Feed: Decodable, Sendable, Equatable {
        public let coreml: CoreMLFeed?
    }

    public struct InputSpec: Decodable, Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let kind: String?
        public let normalization: Normalization?
        public let feed: Feed?

        /// True when Core ML takes this input as an image (pixels), per the index.
        public var isImage: Bool { feed?.coreml?.representation == "image" || (feed?.coreml == nil && kind == "image") }
        /// Pixel scale/bias: `value = pixel * scale + bias` (feed.coreml first, then normalization).
        public var pixelScale: Double { feed?.coreml?.scale ?? normalization?.scale ?? 1.0 }
        public var pixelBias: Double { feed?.coreml?.bias ?? normalization?.bias ?? 0.0 }
        public var colorLayout: String { feed?.coreml?.colorLayout ?? "RGB" }
    }

    public struct OutputSpec: Decodable, Sendable, Equatable {
        public let name: String
        public let shape: [Int]
    }

    /// A parity gate as in mobilekit.core.config.Tolerance. Unset fields are not checked; `outputs`
    /// replaces the whole gate for the outputs it names. Task-metric bounds are judged by `qa ingest`.
    public struct Tolerance: Codable, Sendable, Equatable {
        public var maxAbs: Double?
        public var meanAbs: Double?
        public var minPsnr: Double?
        public var minTaskMetric: Double?
        public var maxTaskMetric: Double?
        public var outputs: [String: Tolerance]?

        public init(maxAbs: Double? = nil, meanAbs: Double? = nil, minPsnr: Double? = nil,
                    minTaskMetric: Double? = nil, maxTaskMetric: Double? = nil, outputs: [String: Tolerance]? = nil) {
            (self.maxAbs, self.meanAbs, self.minPsnr) = (maxAbs, meanAbs, minPsnr)
            (self.minTaskMetric, self.maxTaskMetric, self.outputs) = (minTaskMetric, maxTaskMetric, outputs)
        }

        enum CodingKeys: String, CodingKey {
            case maxAbs = "max_abs", meanAbs = "mean_abs", minPsnr = "min_psnr"
            case minTaskMetric = "min_task_metric", maxTaskMetric = "max_task_metric", outputs
        }

        /// The gate for one output (`Tolerance.for_output` in Python).
        public func forOutput(_ name: String) -> Tolerance {
            if let own = outputs?[name] { return own }
            var copy = self
            copy.outputs = nil
            return copy
        }

        /// The bounds checked on the device, e.g. "max_abs 0.0001, min_psnr 40".
        public var summary: String {
            var parts: [String] = []
            if let v = maxAbs { parts.append("max_abs \(Format.g(v))") }
            if let v = meanAbs { parts.append("mean_abs \(Format.g(v))") }
            if let v = minPsnr { parts.append("min_psnr \(Format.g(v))") }
            if let outputs, !outputs.isEmpty {
                parts.append("own gates for " + outputs.keys.sorted().map { "\($0) (\(outputs[$0]?.summary ?? ""))" }.joined(separator: ", "))
            }
            return parts.isEmpty ? "no value bounds" : parts.joined(separator: ", ")
        }

        /// The task-metric bounds (judged by `qa ingest`), e.g. "min_task_metric 0.999"; nil when none.
        public var taskBounds: String? {
            var parts: [String] = []
            if let v = minTaskMetric { parts.append("min_task_metric \(Format.g(v))") }
            if let v = maxTaskMetric { parts.append("max_task_metric \(Format.g(v))") }
            return parts.isEmpty ? nil : parts.joined(separator: ", ")
        }
    }

    public struct ArtifactTolerance: Decodable, Sendable, Equatable {
        public let target: String?
        public let precision: String?
        public let tolerance: Tolerance
    }

    /// One `.bin` of a case. `file` is relative to `fixtures/`.
    public struct TensorEntry: Decodable, Sendable, Equatable {
        public let name: String
        public let role: String
        public let dtype: String?
        public let byteOrder: String?
        public let shape: [Int]
        public let file: String
        public let bytes: Int?
        public let sha256: String

        enum CodingKeys: String, CodingKey {
            case name, role, dtype, byteOrder = "byte_order", shape, file, bytes, sha256
        }
    }

    public struct Case: Decodable, Sendable, Equatable {
        public let id: String
        public let tensors: [TensorEntry]

        public var inputs: [TensorEntry] { tensors.filter { $0.role == "input" } }
        public var expected: [TensorEntry] { tensors.filter { $0.role == "expected" } }
    }

    public struct BundleInfo: Decodable, Sendable, Equatable {
        public let name: String?
        public let version: String?
        public let platform: String?
        public let family: String?
    }

    /// The artifact whose tolerance applies, with its path as listed in `tolerances`.
    public struct SelectedArtifact: Sendable, Equatable {
        public let path: String
        public let target: String?
        public let precision: String?
        public let tolerance: Tolerance
    }

    public let format: String
    public let formatVersion: Int
    public let bundle: BundleInfo?
    public let dtype: String?
    public let byteOrder: String?
    public let inputs: [InputSpec]
    public let outputs: [OutputSpec]
    public let tolerances: [String: ArtifactTolerance]
    public let taskMetric: String?
    public let cases: [Case]

    enum CodingKeys: String, CodingKey {
        case format, formatVersion = "format_version", bundle, dtype, byteOrder = "byte_order", inputs, outputs
        case tolerances, taskMetric = "task_metric", cases
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        formatVersion = try c.decode(Int.self, forKey: .formatVersion)
        bundle = try c.decodeIfPresent(BundleInfo.self, forKey: .bundle)
        dtype = try c.decodeIfPresent(String.self, forKey: .dtype)
        byteOrder = try c.decodeIfPresent(String.self, forKey: .byteOrder)
        inputs = try c.decode([InputSpec].self, forKey: .inputs)
        outputs = try c.decode([OutputSpec].self, forKey: .outputs)
        tolerances = try c.decodeIfPresent([String: ArtifactTolerance].self, forKey: .tolerances) ?? [:]
        taskMetric = try c.decodeIfPresent(String.self, forKey: .taskMetric)
        cases = try c.decode([Case].self, forKey: .cases)
    }

    // MARK: decoding and checking

    private struct Header: Decodable {
        let format: String?
        let formatVersion: Int?
        enum CodingKeys: String, CodingKey { case format, formatVersion = "format_version" }
    }

    /// Decode and check index.json bytes; `path` names the file in every error.
    public static func decode(_ data: Data, path: String = indexName) throws -> FixtureIndex {
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data)
        } catch let error as DecodingError {
            if case .typeMismatch = error {
                throw HarnessError.badFixture(path: path, reason: "not \(format) version \(formatVersion): \(describe(error))")
            }
            throw HarnessError.badFixture(path: path, reason: "not valid JSON (\(describe(error)))")
        } catch {
            throw HarnessError.badFixture(path: path, reason: "not valid JSON (\(error))")
        }
        guard header.format == format, header.formatVersion == formatVersion else {
            let found = "format \(header.format.map { "\"\($0)\"" } ?? "missing"), version \(header.formatVersion.map(String.init) ?? "missing")"
            throw HarnessError.badFixture(path: path, reason: "not \(format) version \(formatVersion) (\(found)); " +
                                          "write fixtures with `mobilekit qa fixtures --bundle B`")
        }
        let index: FixtureIndex
        do {
            index = try JSONDecoder().decode(FixtureIndex.self, from: data)
        } catch let error as DecodingError {
            throw HarnessError.badFixture(path: path, reason: describe(error))
        }
        try index.validate(path: path)
        return index
    }

    /// Read and check `url` (an index.json file).
    public static func load(_ url: URL) throws -> FixtureIndex {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw HarnessError.badFixture(path: url.path, reason: "cannot read (\(error.localizedDescription))")
        }
        return try decode(data, path: url.path)
    }

    /// "missing field 'cases[0].tensors[1].sha256'" and the like.
    static func describe(_ error: DecodingError) -> String {
        func render(_ path: [CodingKey]) -> String {
            var out = ""
            for key in path {
                if let i = key.intValue { out += "[\(i)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
            }
            return out.isEmpty ? "(top level)" : out
        }
        switch error {
        case let .keyNotFound(key, ctx): return "missing field '\(render(ctx.codingPath + [key]))'"
        case let .valueNotFound(_, ctx): return "field '\(render(ctx.codingPath))' is null"
        case let .typeMismatch(type, ctx): return "field '\(render(ctx.codingPath))' is not a \(type)"
        case let .dataCorrupted(ctx):
            return ctx.codingPath.isEmpty ? "malformed JSON" : "invalid value at '\(render(ctx.codingPath))'"
        @unknown default: return "\(error)"
        }
    }

    /// Names that become file names (case ids, tensor names): letters, digits, _ . - only (as in Python).
    public static func isSafeName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != ".", first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { s in
            s.isASCII && (("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_" || s == "." || s == "-")
        }
    }

    static func isSafeRelativePath(_ file: String) -> Bool {
        guard !file.isEmpty, !file.hasPrefix("/"), !file.contains("\\") else { return false }
        return file.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { $0 != ".." && $0 != "." && !$0.isEmpty }
    }

    func validate(path: String) throws {
        func bad(_ reason: String) -> HarnessError { .badFixture(path: path, reason: reason) }
        if let dtype, dtype != "float32" { throw bad("dtype \"\(dtype)\" is not float32") }
        if let byteOrder, byteOrder != "little" { throw bad("byte_order \"\(byteOrder)\" is not little") }
        guard !cases.isEmpty else { throw bad("no cases") }
        for output in outputs where !Self.isSafeName(output.name) {
            throw bad("output name \"\(output.name)\" cannot be a file name (letters, digits, _ . - only)")
        }
        var seen = Set<String>()
        for c in cases {
            guard Self.isSafeName(c.id) else { throw bad("case id \"\(c.id)\" cannot be a directory name") }
            guard seen.insert(c.id).inserted else { throw bad("case id \"\(c.id)\" is listed twice") }
            guard !c.expected.isEmpty else { throw bad("\(c.id) lists no expected tensor") }
            var names = Set<String>()
            for t in c.tensors {
                let at = "\(c.id) tensor \"\(t.name)\""
                guard Self.isSafeName(t.name) else { throw bad("\(at): name cannot be a file name") }
                guard names.insert("\(t.role)/\(t.name)").inserted else { throw bad("\(at) (\(t.role)) is listed twice") }
                guard t.role == "input" || t.role == "expected" else { throw bad("\(at): role \"\(t.role)\" is not input or expected") }
                if let d = t.dtype, d != "float32" { throw bad("\(at): dtype \"\(d)\" is not float32") }
                if let b = t.byteOrder, b != "little" { throw bad("\(at): byte_order \"\(b)\" is not little") }
                guard Self.isSafeRelativePath(t.file) else { throw bad("\(at): file \"\(t.file)\" is not a path inside fixtures/") }
                let count: Int
                do { count = try Tensor.elementCount(t.shape) } catch { throw bad("\(at): shape \(t.shape) is not a valid shape") }
                if let bytes = t.bytes, bytes != count * 4 {
                    throw bad("\(at): bytes \(bytes) != 4 × \(count) (shape \(t.shape))")
                }
                guard t.sha256.count == 64, t.sha256.allSatisfy(\.isHexDigit) else { throw bad("\(at): sha256 is not 64 hex digits") }
            }
        }
    }

    // MARK: artifacts

    static func isCoreML(path: String, target: String?) -> Bool {
        target == "coreml" || [".mlpackage", ".mlmodel", ".mlmodelc"].contains { path.hasSuffix($0) }
    }

    private func selected(_ path: String) -> SelectedArtifact? {
        tolerances[path].map { SelectedArtifact(path: path, target: $0.target, precision: $0.precision, tolerance: $0.tolerance) }
    }

    /// The artifact `requested` names (its path, file name or target), as `qa ingest --artifact` resolves it.
    public func artifact(named requested: String) throws -> SelectedArtifact {
        if let exact = selected(requested) { return exact }
        let matches = tolerances.keys.sorted().filter { path in
            tolerances[path]?.target == requested || (path as NSString).lastPathComponent == requested
        }
        guard matches.count == 1, let only = selected(matches[0]) else {
            let accepted = tolerances.keys.sorted().joined(separator: ", ")
            throw HarnessError.badArgument(matches.isEmpty
                ? "artifact \"\(requested)\" is not in the fixtures' tolerances; accepted: \(accepted.isEmpty ? "(none)" : accepted)"
                : "artifact \"\(requested)\" is ambiguous: \(matches.joined(separator: ", "))")
        }
        return only
    }

    /// The Core ML artifact (`.mlpackage`, or target "coreml") when the bundle has exactly one, or the
    /// one `requested` names. Errors when the bundle holds none (e.g. an Android bundle).
    public func coreMLArtifact(named requested: String? = nil) throws -> SelectedArtifact {
        if let requested { return try artifact(named: requested) }
        let coreml = tolerances.keys.sorted().filter { Self.isCoreML(path: $0, target: tolerances[$0]?.target) }
        guard coreml.count == 1, let only = selected(coreml[0]) else {
            let listed = tolerances.keys.sorted().joined(separator: ", ")
            throw HarnessError.badArgument(coreml.isEmpty
                ? "the fixtures list no Core ML artifact (.mlpackage); tolerances: \(listed.isEmpty ? "(none)" : listed)"
                : "the fixtures list \(coreml.count) Core ML artifacts; name one: \(coreml.joined(separator: ", "))")
        }
        return only
    }

    /// The artifact for a run: the named one; else the Core ML one; else the only one listed.
    public func defaultArtifact(named requested: String? = nil) throws -> SelectedArtifact {
        if let requested { return try artifact(named: requested) }
        if let coreml = try? coreMLArtifact() { return coreml }
        guard tolerances.count == 1, let only = tolerances.keys.first.flatMap(selected) else {
            throw HarnessError.badArgument(tolerances.isEmpty
                ? "the fixtures list no artifact tolerances"
                : "the fixtures list \(tolerances.count) artifacts; say which one ran: \(tolerances.keys.sorted().joined(separator: ", "))")
        }
        return only
    }

    public func `case`(_ id: String) -> Case? { cases.first { $0.id == id } }
}
