import Foundation

/// A fixtures directory on disk (the bundle's `fixtures/`) with its decoded, checked index.
public struct FixtureSet: Sendable {
    /// The `fixtures/` directory (holds index.json).
    public let directory: URL
    public let index: FixtureIndex

    /// The unzipped bundle root (the parent of `fixtures/`): artifact paths are relative to it.
    public var bundleRoot: URL { directory.deletingLastPathComponent() }

    public init(directory: URL, index: FixtureIndex) {
        self.directory = directory
        self.index = index
    }

    /// Load from the `fixtures/` directory, an unzipped bundle root holding `fixtures/`, or index.json itself.
    public static func load(_ url: URL) throws -> FixtureSet {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw HarnessError.badFixture(path: url.path, reason: "not found (pass the bundle's fixtures/ directory or the unzipped bundle)")
        }
        let dir: URL
        if !isDir.boolValue {
            dir = url.deletingLastPathComponent()
        } else if fm.fileExists(atPath: url.appendingPathComponent(FixtureIndex.indexName).path) {
            dir = url
        } else if fm.fileExists(atPath: url.appendingPathComponent("fixtures").appendingPathComponent(FixtureIndex.indexName).path) {
            dir = url.appendingPathComponent("fixtures")
        } else {
            throw HarnessError.badFixture(path: url.appendingPathComponent(FixtureIndex.indexName).path,
                                          reason: "not found; add fixtures with `mobilekit qa fixtures --bundle B` and unzip the bundle")
        }
        let indexURL = isDir.boolValue ? dir.appendingPathComponent(FixtureIndex.indexName) : url
        return FixtureSet(directory: dir, index: try FixtureIndex.load(indexURL))
    }

    /// The model file of an artifact: `<bundle root>/<artifact path>`, preferring an already compiled
    /// `<same name>.mlmodelc` beside a `.mlpackage` / `.mlmodel` (Xcode compiles models it copies).
    /// Throws naming the path when neither exists.
    public func modelURL(for artifact: FixtureIndex.SelectedArtifact, searching extra: [URL] = []) throws -> URL {
        guard FixtureIndex.isSafeRelativePath(artifact.path) else {
            throw HarnessError.badFixture(path: artifact.path, reason: "artifact path is not inside the bundle")
        }
        let listed = artifact.path.split(separator: "/").reduce(bundleRoot) { $0.appendingPathComponent(String($1)) }
        let compiledName = listed.deletingPathExtension().lastPathComponent + ".mlmodelc"
        var candidates = [listed.deletingLastPathComponent().appendingPathComponent(compiledName), listed]
        for dir in extra { candidates += [dir.appendingPathComponent(compiledName), dir.appendingPathComponent(listed.lastPathComponent)] }
        if listed.pathExtension == "mlmodelc" { candidates.removeFirst() }
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            throw HarnessError.badFixture(path: listed.path, reason: "model of artifact \(artifact.path) not found (nor \(compiledName))")
        }
        return found
    }

    public func url(of entry: FixtureIndex.TensorEntry) -> URL {
        entry.file.split(separator: "/").reduce(directory) { $0.appendingPathComponent(String($1)) }
    }

    /// One fixture tensor, size- and sha256-checked.
    public func read(_ entry: FixtureIndex.TensorEntry) throws -> Tensor {
        try Float32IO.read(url(of: entry), shape: entry.shape, sha256: entry.sha256)
    }

    public func inputs(of c: FixtureIndex.Case) throws -> [String: Tensor] {
        try Dictionary(uniqueKeysWithValues: c.inputs.map { ($0.name, try read($0)) })
    }

    public func expected(of c: FixtureIndex.Case) throws -> [String: Tensor] {
        try Dictionary(uniqueKeysWithValues: c.expected.map { ($0.name, try read($0)) })
    }
}

enum Format {
    /// Python's `{:.3g}`.
    static func g(_ value: Double, _ digits: Int = 3) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return String(format: "%.\(digits)g", value)
    }
}
