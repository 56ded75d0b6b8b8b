#if canImport(CoreML) && canImport(Metal)
import CoreML
import Foundation
import Metal
#if canImport(MobilekitKernelMath)  // SwiftPM; apps that copy the sources import the C header via a bridging header
import MobilekitKernelMath
#endif

// Core ML `MLCustomLayer` classes for the ops coremltools cannot convert. A model converted with
// `convert_to="neuralnetwork"` names these classes in its custom layers (`bindings.class_name`);
// Core ML looks them up by Objective-C name, hence the unqualified @objc names.
//
// Layer parameters (the custom layer's `parameters` map, written by the converter):
//   MKErosion2D / MKDilation2D : kernel_height, kernel_width (odd ints; or kernel_size for both);
//                                optional weights[0] = float32 filter, (kh, kw, C) row-major (TF layout)
//   MKResizeBicubic / MKResizeArea : output_height, output_width
//   all : data_layout = "NCHW" (default) | "NHWC" — how a rank-3/4 MLMultiArray is laid out;
//         rank-5 arrays are Core ML's [Seq, Batch, C, H, W].
// `evaluate` (CPU) handles both layouts. `encode` (GPU) receives Core ML's channel-packed textures,
// which only mean (C, H, W) for channel-first tensors: with data_layout "NHWC" it throws, so the
// converter should keep these layers channel-first (transpose around them) to run on the GPU.

enum MKLayerLayout: String {
    case nchw = "NCHW"
    case nhwc = "NHWC"
}

enum MKLayerParams {
    static func int(_ p: [String: Any], _ keys: String...) -> Int? {
        for k in keys {
            if let n = p[k] as? NSNumber { return n.intValue }
            if let s = p[k] as? String, let i = Int(s) { return i }
        }
        return nil
    }

    static func layout(_ p: [String: Any]) throws -> MKLayerLayout {
        guard let raw = p["data_layout"] else { return .nchw }
        guard let s = raw as? String, let l = MKLayerLayout(rawValue: s.uppercased()) else {
            throw MKShaderError.invalidArgument("data_layout must be NCHW or NHWC, got \(raw)")
        }
        return l
    }
}

/// (N, H, W, C) view of an MLMultiArray plus the mapping of those axes to the array's axes.
struct MKArrayView {
    let n: Int, h: Int, w: Int, c: Int
    /// Axis index of N-like (possibly two axes for rank 5), H, W, C in the array.
    let axes: (nOuter: Int?, n: Int?, h: Int, w: Int, c: Int)

    init(shape: [Int], layout: MKLayerLayout) throws {
        switch (shape.count, layout) {
        case (5, _):
            (n, h, w, c) = (shape[0] * shape[1], shape[3], shape[4], shape[2]); axes = (0, 1, 3, 4, 2)
        case (4, .nchw):
            (n, h, w, c) = (shape[0], shape[2], shape[3], shape[1]); axes = (nil, 0, 2, 3, 1)
        case (4, .nhwc):
            (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3]); axes = (nil, 0, 1, 2, 3)
        case (3, .nchw):
            (n, h, w, c) = (1, shape[1], shape[2], shape[0]); axes = (nil, nil, 1, 2, 0)
        case (3, .nhwc):
            (n, h, w, c) = (1, shape[0], shape[1], shape[2]); axes = (nil, nil, 0, 1, 2)
        default:
            throw MKShaderError.invalidArgument("unsupported tensor rank \(shape.count) (shape \(shape))")
        }
    }

    /// Element offset (in elements, using the array's strides) of NHWC coordinate (b, y, x, ch).
    func offset(_ strides: [Int], _ shape: [Int], _ b: Int, _ y: Int, _ x: Int, _ ch: Int) -> Int {
        var o = y * strides[axes.h] + x * strides[axes.w] + ch * strides[axes.c]
        if let outer = axes.nOuter, let inner = axes.n {
            o += (b / shape[inner]) * strides[outer] + (b % shape[inner]) * strides[inner]
        } else if let inner = axes.n {
            o += b * strides[inner]
        }
        return o
    }

    static func read(_ a: MLMultiArray, layout: MKLayerLayout) throws -> MKImage {
        let shape = a.shape.map { $0.intValue }, strides = a.strides.map { $0.intValue }
        let v = try MKArrayView(shape: shape, layout: layout)
        var img = try MKImage(batch: v.n, height: v.h, width: v.w, channels: v.c)
        switch a.dataType {
        case .float32:
            let p = a.dataPointer.assumingMemoryBound(to: Float.self)
            for b in 0..<v.n { for y in 0..<v.h { for x in 0..<v.w { for ch in 0..<v.c {
                img[b, y, x, ch] = p[v.offset(strides, shape, b, y, x, ch)]
            } } } }
        case .double:
            let p = a.dataPointer.assumingMemoryBound(to: Double.self)
            for b in 0..<v.n { for y in 0..<v.h { for x in 0..<v.w { for ch in 0..<v.c {
                img[b, y, x, ch] = Float(p[v.offset(strides, shape, b, y, x, ch)])
            } } } }
        default:  // float16 / int32: slow generic path through NSNumber
            for b in 0..<v.n { for y in 0..<v.h { for x in 0..<v.w { for ch in 0..<v.c {
                img[b, y, x, ch] = a[v.offset(strides, shape, b, y, x, ch)].floatValue
            } } } }
        }
        return img
    }

    static func write(_ img: MKImage, to a: MLMultiArray, layout: MKLayerLayout) throws {
        let shape = a.shape.map { $0.intValue }, strides = a.strides.map { $0.intValue }
        let v = try MKArrayView(shape: shape, layout: layout)
        guard v.n == img.batch, v.h == img.height, v.w == img.width, v.c == img.channels else {
            throw MKShaderError.invalidArgument("output array \(shape) does not hold an image of shape \(img.shape)")
        }
        switch a.dataType {
        case .float32:
            let p = a.dataPointer.assumingMemoryBound(to: Float.self)
            for b in 0..<v.n { for y in 0..<v.h { for x in 0..<v.w { for ch in 0..<v.c {
                p[v.offset(strides, shape, b, y, x, ch)] = img[b, y, x, ch]
            } } } }
        case .double:
            let p = a.dataPointer.assumingMemoryBound(to: Double.self)
            for b in 0..<v.n { for y in 0..<v.h { for x in 0..<v.w { for ch in 0..<v.c {
                p[v.offset(strides, shape, b, y, x, ch)] = Double(img[b, y, x, ch])
            } } } }
        default:
            for b in 0..<v.n { for y in 0..<v.h { for x in 0..<v.w { for ch in 0..<v.c {
                a[v.offset(strides, shape, b, y, x, ch)] = NSNumber(value: img[b, y, x, ch])
            } } } }
        }
    }
}

/// The custom layer classes. Core ML finds them by Objective-C name at model load; calling
/// `MKCustomLayers.register()` once (e.g. before loading the model) references them so that static
/// linking cannot strip them, and returns the names models must use (`bindings.class_name`).
public enum MKCustomLayers {
    public static let classes: [AnyClass] = [MKErosion2D.self, MKDilation2D.self, MKResizeBicubic.self, MKResizeArea.self]

    @discardableResult
    public static func register() -> [String] { classes.map { NSStringFromClass($0) } }
}

// MARK: morphology

/// Shared implementation of MKErosion2D / MKDilation2D (flat or weighted structuring element).
public class MKMorphologyLayer: NSObject, MLCustomLayer {
    class var dilate: Bool { false }
    let kernelHeight: Int
    let kernelWidth: Int
    let layout: MKLayerLayout
    var filter: [Float]?
    var filterBuffer: MTLBuffer?

    public required init(parameters: [String: Any]) throws {
        guard let kh = MKLayerParams.int(parameters, "kernel_height", "kernel_size"),
              let kw = MKLayerParams.int(parameters, "kernel_width", "kernel_size"),
              kh > 0, kw > 0, kh % 2 == 1, kw % 2 == 1 else {
            throw MKShaderError.invalidArgument("\(type(of: self)): kernel_height / kernel_width must be odd positive ints, got \(parameters)")
        }
        kernelHeight = kh
        kernelWidth = kw
        layout = try MKLayerParams.layout(parameters)
        super.init()
    }

    public func setWeightData(_ weights: [Data]) throws {
        guard let data = weights.first, !data.isEmpty else { filter = nil; return }
        guard data.count % (4 * kernelHeight * kernelWidth) == 0 else {
            throw MKShaderError.invalidArgument("filter weights (\(data.count) bytes) are not float32 (kh, kw, C)")
        }
        filter = data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
        filterBuffer = nil
    }

    public func outputShapes(forInputShapes inputShapes: [[NSNumber]]) throws -> [[NSNumber]] {
        inputShapes
    }

    public func evaluate(inputs: [MLMultiArray], outputs: [MLMultiArray]) throws {
        guard let input = inputs.first, let output = outputs.first else { throw MKShaderError.invalidArgument("expects one input and one output") }
        let x = try MKArrayView.read(input, layout: layout)
        let y = type(of: self).dilate
            ? try MKCPU.dilation2D(x, kernelHeight: kernelHeight, kernelWidth: kernelWidth, filter: filter)
            : try MKCPU.erosion2D(x, kernelHeight: kernelHeight, kernelWidth: kernelWidth, filter: filter)
        try MKArrayView.write(y, to: output, layout: layout)
    }

    public func encode(commandBuffer: MTLCommandBuffer, inputs: [MTLTexture], outputs: [MTLTexture]) throws {
        guard layout == .nchw else {
            throw MKShaderError.invalidArgument("GPU path needs a channel-first tensor (data_layout NCHW); this layer is NHWC")
        }
        guard let input = inputs.first, let output = outputs.first else { throw MKShaderError.invalidArgument("expects one input and one output") }
        let kernels = try MKMetalKernels.shared(for: commandBuffer.device)
        var channels = 4
        if let f = filter {
            channels = f.count / (kernelHeight * kernelWidth)
            if filterBuffer == nil { filterBuffer = try kernels.buffer(f) }
        }
        let p = MKMorphParams(batch: 1, height: Int32(input.height), width: Int32(input.width), channels: Int32(channels),
                              kernel_height: Int32(kernelHeight), kernel_width: Int32(kernelWidth),
                              has_filter: filter == nil ? 0 : 1, dilate: type(of: self).dilate ? 1 : 0)
        try kernels.encodeMorphology(commandBuffer, input: input, filter: filterBuffer, output: output, params: p)
    }
}

/// `tf.nn.erosion2d` (SAME, strides 1, dilations 1).
@objc(MKErosion2D)
public final class MKErosion2D: MKMorphologyLayer {
    override class var dilate: Bool { false }
}

/// `tf.nn.dilation2d` (SAME, strides 1, dilations 1).
@objc(MKDilation2D)
public final class MKDilation2D: MKMorphologyLayer {
    override class var dilate: Bool { true }
}

// MARK: resize

/// Shared implementation of MKResizeBicubic / MKResizeArea.
public class MKResizeLayer: NSObject, MLCustomLayer {
    class var bicubic: Bool { false }
    let outHeight: Int
    let outWidth: Int
    let layout: MKLayerLayout

    public required init(parameters: [String: Any]) throws {
        guard let h = MKLayerParams.int(parameters, "output_height", "height"),
              let w = MKLayerParams.int(parameters, "output_width", "width"), h > 0, w > 0 else {
            throw MKShaderError.invalidArgument("\(type(of: self)): output_height / output_width must be positive ints, got \(parameters)")
        }
        outHeight = h
        outWidth = w
        layout = try MKLayerParams.layout(parameters)
        super.init()
    }

    public func setWeightData(_ weights: [Data]) throws {}

    public func outputShapes(forInputShapes inputShapes: [[NSNumber]]) throws -> [[NSNumber]] {
        try inputShapes.map { shape in
            var s = shape
            let (hAxis, wAxis): (Int, Int)
            switch (shape.count, layout) {
            case (5, _), (4, .nchw): (hAxis, wAxis) = (shape.count - 2, shape.count - 1)
            case (4, .nhwc): (hAxis, wAxis) = (1, 2)
            case (3, .nchw): (hAxis, wAxis) = (1, 2)
            case (3, .nhwc): (hAxis, wAxis) = (0, 1)
            default: throw MKShaderError.invalidArgument("unsupported tensor rank \(shape.count)")
            }
            s[hAxis] = NSNumber(value: outHeight)
            s[wAxis] = NSNumber(value: outWidth)
            return s
        }
    }

    public func evaluate(inputs: [MLMultiArray], outputs: [MLMultiArray]) throws {
        guard let input = inputs.first, let output = outputs.first else { throw MKShaderError.invalidArgument("expects one input and one output") }
        let x = try MKArrayView.read(input, layout: layout)
        let y = type(of: self).bicubic
            ? try MKCPU.resizeBicubic(x, height: outHeight, width: outWidth)
            : try MKCPU.resizeArea(x, height: outHeight, width: outWidth)
        try MKArrayView.write(y, to: output, layout: layout)
    }

    public func encode(commandBuffer: MTLCommandBuffer, inputs: [MTLTexture], outputs: [MTLTexture]) throws {
        guard layout == .nchw else {
            throw MKShaderError.invalidArgument("GPU path needs a channel-first tensor (data_layout NCHW); this layer is NHWC")
        }
        guard let input = inputs.first, let output = outputs.first else { throw MKShaderError.invalidArgument("expects one input and one output") }
        let kernels = try MKMetalKernels.shared(for: commandBuffer.device)
        try kernels.encodeResize(commandBuffer, input: input, output: output, bicubic: type(of: self).bicubic)
    }
}

/// `tf.image.resize(method="bicubic", antialias=False)` to (output_height, output_width).
@objc(MKResizeBicubic)
public final class MKResizeBicubic: MKResizeLayer {
    override class var bicubic: Bool { true }
}

/// `tf.image.resize(method="area")` to (output_height, output_width).
@objc(MKResizeArea)
public final class MKResizeArea: MKResizeLayer {
    override class var bicubic: Bool { false }
}
#endif
