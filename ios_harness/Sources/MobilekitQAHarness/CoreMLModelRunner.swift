#if canImport(CoreML)
import CoreML
import CoreVideo
import Foundation

/// Runs a bundle's Core ML model (Apple platforms only; none of this file builds on Linux).
///
/// - Loads a compiled `.mlmodelc` with `MLModel(contentsOf:configuration:)`; an `.mlpackage` or
///   `.mlmodel` is compiled first with `MLModel.compileModel(at:)` (into a temporary directory).
/// - Image inputs (the model description's `.image` type) get a CVPixelBuffer of 8-bit pixels
///   (`kCVPixelFormatType_32BGRA`, or `OneComponent8` for grayscale) built by `PixelFeed` from the
///   stored values with the index's scale / bias / color layout; the model applies scale and bias.
/// - Multiarray inputs get an `MLMultiArray` of float32 (float64 when the model declares double)
///   in the stored shape.
/// - Multiarray outputs are read with `MLShapedArray<Float>(converting:)`, which resolves strides
///   and fp16/fp64 storage into row-major Float. When an output's shape differs from the index's
///   only by dimensions of size 1, it is reshaped to the index's shape (same row-major data).
public final class CoreMLModelRunner: ModelRunner {
    public let model: MLModel
    public let modelURL: URL
    public let compiledURL: URL
    public let computeUnits: MLComputeUnits
    public var runtime: String { "coreml" }
    public var computeUnitsName: String { Self.name(of: computeUnits) }
    private let inputSpecs: [String: FixtureIndex.InputSpec]
    private let outputShapes: [String: [Int]]

    public init(modelURL: URL, index: FixtureIndex, computeUnits: MLComputeUnits = .all) throws {
        self.modelURL = modelURL
        self.computeUnits = computeUnits
        let compiled = try Self.compiledModel(at: modelURL)
        compiledURL = compiled
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        do {
            model = try MLModel(contentsOf: compiled, configuration: configuration)
        } catch {
            throw HarnessError.model("\(modelURL.path): Core ML cannot load the model (\(error.localizedDescription))")
        }
        inputSpecs = Dictionary(index.inputs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        outputShapes = Dictionary(index.outputs.map { ($0.name, $0.shape) }, uniquingKeysWith: { first, _ in first })
    }

    /// `url` itself for a `.mlmodelc`; the compiled copy (temporary directory) of a `.mlpackage` / `.mlmodel`.
    public static func compiledModel(at url: URL) throws -> URL {
        switch url.pathExtension.lowercased() {
        case "mlmodelc":
            return url
        case "mlpackage", "mlmodel":
            do {
                return try MLModel.compileModel(at: url)
            } catch {
                throw HarnessError.model("\(url.path): Core ML cannot compile the model (\(error.localizedDescription))")
            }
        default:
            throw HarnessError.badArgument("\(url.path): not a Core ML model (.mlpackage, .mlmodel or .mlmodelc)")
        }
    }

    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let descriptions = model.modelDescription.inputDescriptionsByName
        var features: [String: MLFeatureValue] = [:]
        for (name, tensor) in inputs {
            guard let description = descriptions[name] else {
                throw HarnessError.model("the model has no input \"\(name)\" (it takes \(descriptions.keys.sorted().joined(separator: ", ")))")
            }
            switch description.type {
            case .image:
                features[name] = MLFeatureValue(pixelBuffer: try pixelBuffer(for: tensor, name: name, constraint: description.imageConstraint))
            case .multiArray:
                features[name] = MLFeatureValue(multiArray: try multiArray(for: tensor, name: name, constraint: description.multiArrayConstraint))
            default:
                throw HarnessError.model("input \"\(name)\" has Core ML feature type \(description.type.rawValue); only image and multiarray inputs are fed")
            }
        }
        let provider = try MLDictionaryFeatureProvider(dictionary: features)
        let result: MLFeatureProvider
        do {
            result = try model.prediction(from: provider)
        } catch {
            throw HarnessError.model("Core ML prediction failed (\(error.localizedDescription))")
        }
        var outputs: [String: Tensor] = [:]
        for name in result.featureNames.sorted() {
            guard let value = result.featureValue(for: name) else { continue }
            guard let array = value.multiArrayValue else {
                if outputShapes[name] != nil {
                    throw HarnessError.model("output \"\(name)\" is not a multiarray (Core ML feature type \(value.type.rawValue))")
                }
                continue
            }
            let shaped = MLShapedArray<Float>(converting: array)
            var tensor = try Tensor(shape: shaped.shape, values: shaped.scalars)
            if let want = outputShapes[name], want != tensor.shape, Tensor.sameUpToUnitDimensions(tensor.shape, want) {
                tensor = try tensor.reshaped(want)
            }
            outputs[name] = tensor
        }
        return outputs
    }

    // MARK: inputs

    private func multiArray(for tensor: Tensor, name: String, constraint: MLMultiArrayConstraint?) throws -> MLMultiArray {
        var shape = tensor.shape
        if let declared = constraint?.shape.map({ $0.intValue }), !declared.isEmpty, declared != shape,
           Tensor.sameUpToUnitDimensions(declared, shape) {
            shape = declared  // e.g. the model drops/adds a unit axis: same row-major data
        }
        if constraint?.dataType == .double {
            return MLMultiArray(MLShapedArray<Double>(scalars: tensor.values.map { Double($0) }, shape: shape))
        }
        return MLMultiArray(MLShapedArray<Float>(scalars: tensor.values, shape: shape))
    }

    private func pixelBuffer(for tensor: Tensor, name: String, constraint: MLImageConstraint?) throws -> CVPixelBuffer {
        guard let spec = inputSpecs[name] else {
            throw HarnessError.model("image input \"\(name)\" has no entry in index.json's inputs (scale/bias unknown)")
        }
        let layout = try ColorLayout(parsing: spec.colorLayout)
        if let format = constraint?.pixelFormatType {
            let wantsGray = format == kCVPixelFormatType_OneComponent8
            guard wantsGray == (layout == .grayscale) else {
                throw HarnessError.model("image input \"\(name)\": index.json says \(layout.rawValue) but the model's pixel format is \(format)")
            }
        }
        let image = try PixelFeed.image(from: tensor, scale: spec.pixelScale, bias: spec.pixelBias, layout: layout)
        return try Self.makePixelBuffer(image)
    }

    /// A CVPixelBuffer (IOSurface-backed) holding `image`, copied row by row (its rows may be padded).
    public static func makePixelBuffer(_ image: PixelImage) throws -> CVPixelBuffer {
        let format: OSType = image.format == .bgra32 ? kCVPixelFormatType_32BGRA : kCVPixelFormatType_OneComponent8
        let attributes = [kCVPixelBufferIOSurfacePropertiesKey as String: [String: Any]()] as CFDictionary
        var made: CVPixelBuffer?
        let status = CVPixelBufferCreate(kCFAllocatorDefault, image.width, image.height, format, attributes, &made)
        guard status == kCVReturnSuccess, let buffer = made else {
            throw HarnessError.model("CVPixelBufferCreate \(image.width)×\(image.height) failed (CVReturn \(status))")
        }
        guard CVPixelBufferLockBaseAddress(buffer, []) == kCVReturnSuccess else {
            throw HarnessError.model("CVPixelBufferLockBaseAddress failed")
        }
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        guard let base = CVPixelBufferGetBaseAddress(buffer) else { throw HarnessError.model("CVPixelBuffer has no base address") }
        let rowBytes = CVPixelBufferGetBytesPerRow(buffer)
        guard rowBytes >= image.bytesPerRow else {
            throw HarnessError.model("CVPixelBuffer rows of \(rowBytes) bytes are shorter than \(image.bytesPerRow)")
        }
        image.bytes.withUnsafeBytes { (source: UnsafeRawBufferPointer) in
            guard let from = source.baseAddress else { return }
            for y in 0..<image.height {
                (base + y * rowBytes).copyMemory(from: from + y * image.bytesPerRow, byteCount: image.bytesPerRow)
            }
        }
        return buffer
    }

    // MARK: compute units

    public static func name(of units: MLComputeUnits) -> String {
        switch units {
        case .cpuOnly: return "cpuOnly"
        case .cpuAndGPU: return "cpuAndGPU"
        case .all: return "all"
        case .cpuAndNeuralEngine: return "cpuAndNeuralEngine"
        @unknown default: return "unknown(\(units.rawValue))"
        }
    }

    /// "all", "cpuOnly", "cpuAndGPU", "cpuAndNeuralEngine" (case-insensitive; also "cpu", "gpu", "ane").
    public static func computeUnits(named text: String) -> MLComputeUnits? {
        switch text.lowercased() {
        case "all": return .all
        case "cpuonly", "cpu_only", "cpu": return .cpuOnly
        case "cpuandgpu", "cpu_and_gpu", "gpu": return .cpuAndGPU
        case "cpuandneuralengine", "cpu_and_ne", "cpu_and_neural_engine", "ane", "ne": return .cpuAndNeuralEngine
        default: return nil
        }
    }
}
#endif
