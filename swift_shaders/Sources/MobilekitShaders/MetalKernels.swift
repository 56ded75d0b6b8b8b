#if canImport(Metal)
import Foundation
import Metal
#if canImport(MobilekitKernelMath)  // SwiftPM; apps that copy the sources import the C header via a bridging header
import MobilekitKernelMath
#endif

/// Metal dispatch for every kernel: buffer kernels (float32 NHWC MTLBuffers; for running ops between
/// Core ML model segments and for app-side processing) and texture kernels (Core ML custom layers).
/// Shapes and parameters use the same structs as the CPU path (mk_kernel_math.h).
public final class MKMetalKernels {
    public let device: MTLDevice
    public let library: MTLLibrary
    public let queue: MTLCommandQueue
    private var pipelines: [String: MTLComputePipelineState] = [:]
    private let lock = NSLock()
    private let dummy: MTLBuffer

    /// Kernel function names in MobilekitKernels.metal.
    public static let functionNames = [
        "mk_morphology_buffer", "mk_resize_bicubic_buffer", "mk_resize_area_buffer", "mk_stitch_buffer",
        "mk_click_maps_buffer", "mk_depth_of_field_buffer",
        "mk_morphology_texture", "mk_resize_bicubic_texture", "mk_resize_area_texture",
    ]

    /// - Parameters:
    ///   - device: defaults to `MTLCreateSystemDefaultDevice()`.
    ///   - library: a library holding the mobilekit kernels; by default see `loadLibrary(device:)`.
    public init(device: MTLDevice? = nil, library: MTLLibrary? = nil) throws {
        guard let dev = device ?? MTLCreateSystemDefaultDevice() else { throw MKShaderError.runtime("no Metal device") }
        guard let q = dev.makeCommandQueue(), let d = dev.makeBuffer(length: 16, options: .storageModeShared) else {
            throw MKShaderError.runtime("cannot create a command queue / buffer")
        }
        self.device = dev
        self.queue = q
        self.dummy = d
        self.library = try library ?? MKMetalKernels.loadLibrary(device: dev)
    }

    private static var sharedInstances: [ObjectIdentifier: MKMetalKernels] = [:]
    private static let sharedLock = NSLock()

    /// One instance per device (pipelines are cached), used by the Core ML custom layers.
    public static func shared(for device: MTLDevice) throws -> MKMetalKernels {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        let key = ObjectIdentifier(device as AnyObject)
        if let k = sharedInstances[key] { return k }
        let k = try MKMetalKernels(device: device)
        sharedInstances[key] = k
        return k
    }

    /// Finds the kernels: the package's compiled default.metallib (Xcode), the default library of the
    /// bundle holding this class or of the app (files dragged into an app target), and finally the
    /// .metal source with the shared header inlined, compiled at run time without fast math
    /// (SwiftPM command-line builds copy .metal files instead of compiling them).
    public static func loadLibrary(device: MTLDevice) throws -> MTLLibrary {
        func complete(_ lib: MTLLibrary?) -> MTLLibrary? {
            guard let lib = lib else { return nil }
            return Set(functionNames).isSubset(of: Set(lib.functionNames)) ? lib : nil
        }
        #if SWIFT_PACKAGE
        if let lib = complete(try? device.makeDefaultLibrary(bundle: Bundle.module)) { return lib }
        #endif
        if let lib = complete(try? device.makeDefaultLibrary(bundle: Bundle(for: MKMetalKernels.self))) { return lib }
        if let lib = complete(device.makeDefaultLibrary()) { return lib }
        let source: String
        do {
            source = try sourceText()
        } catch {
            throw MKShaderError.libraryUnavailable("no compiled library with the mobilekit kernels and no source to compile (\(error))")
        }
        let options = MTLCompileOptions()
        options.fastMathEnabled = false  // parity with the CPU path
        do {
            return try device.makeLibrary(source: source, options: options)
        } catch {
            throw MKShaderError.libraryUnavailable("compiling MobilekitKernels.metal failed: \(error)")
        }
    }

    static let headerInclude = "#include \"../../MobilekitKernelMath/include/mk_kernel_math.h\""

    /// MobilekitKernels.metal with mk_kernel_math.h inlined (from the package resources or the source tree).
    public static func sourceText() throws -> String {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        var metalURL = here.appendingPathComponent("Metal").appendingPathComponent("MobilekitKernels.metal")
        #if SWIFT_PACKAGE
        if let url = Bundle.module.url(forResource: "MobilekitKernels", withExtension: "metal") { metalURL = url }
        #endif
        let headerURL = here.deletingLastPathComponent().appendingPathComponent("MobilekitKernelMath")
            .appendingPathComponent("include").appendingPathComponent("mk_kernel_math.h")
        let metal = try String(contentsOf: metalURL, encoding: .utf8)
        let header = try String(contentsOf: headerURL, encoding: .utf8)
        guard metal.contains(headerInclude) else { throw MKShaderError.libraryUnavailable("unexpected include line in \(metalURL.path)") }
        return metal.replacingOccurrences(of: headerInclude, with: header)
    }

    public func pipeline(_ name: String) throws -> MTLComputePipelineState {
        lock.lock()
        defer { lock.unlock() }
        if let p = pipelines[name] { return p }
        guard let fn = library.makeFunction(name: name) else { throw MKShaderError.libraryUnavailable("no function \(name)") }
        let p = try device.makeComputePipelineState(function: fn)
        pipelines[name] = p
        return p
    }

    /// Threadgroups covering `grid`; kernels bounds-check, so no non-uniform dispatch is needed.
    private func dispatch(_ cb: MTLCommandBuffer, _ name: String, grid: MTLSize,
                          _ bind: (MTLComputeCommandEncoder) -> Void) throws {
        let ps = try pipeline(name)
        guard let enc = cb.makeComputeCommandEncoder() else { throw MKShaderError.runtime("cannot create a compute encoder") }
        enc.setComputePipelineState(ps)
        bind(enc)
        let w = ps.threadExecutionWidth
        let h = grid.height > 1 ? max(1, ps.maxTotalThreadsPerThreadgroup / w) : 1
        let tg = MTLSize(width: w, height: h, depth: 1)
        let groups = MTLSize(width: (grid.width + w - 1) / w, height: (grid.height + h - 1) / h, depth: max(1, grid.depth))
        enc.dispatchThreadgroups(groups, threadsPerThreadgroup: tg)
        enc.endEncoding()
    }

    // MARK: buffer kernels (float32 NHWC)

    public func encodeMorphology(_ cb: MTLCommandBuffer, input: MTLBuffer, filter: MTLBuffer?, output: MTLBuffer,
                                 params: MKMorphParams) throws {
        var p = params
        try dispatch(cb, "mk_morphology_buffer", grid: MTLSize(width: Int(p.width), height: Int(p.height), depth: Int(p.batch))) { e in
            e.setBuffer(input, offset: 0, index: 0)
            e.setBuffer(filter ?? dummy, offset: 0, index: 1)
            e.setBuffer(output, offset: 0, index: 2)
            e.setBytes(&p, length: MemoryLayout<MKMorphParams>.stride, index: 3)
        }
    }

    public func encodeResize(_ cb: MTLCommandBuffer, input: MTLBuffer, output: MTLBuffer, params: MKResizeParams,
                             bicubic: Bool) throws {
        var p = params
        let name = bicubic ? "mk_resize_bicubic_buffer" : "mk_resize_area_buffer"
        try dispatch(cb, name, grid: MTLSize(width: Int(p.out_width), height: Int(p.out_height), depth: Int(p.batch))) { e in
            e.setBuffer(input, offset: 0, index: 0)
            e.setBuffer(output, offset: 0, index: 1)
            e.setBytes(&p, length: MemoryLayout<MKResizeParams>.stride, index: 2)
        }
    }

    public func encodeStitch(_ cb: MTLCommandBuffer, original: MTLBuffer, inpainted: MTLBuffer, mask: MTLBuffer,
                             output: MTLBuffer, params: MKStitchParams) throws {
        var p = params
        try dispatch(cb, "mk_stitch_buffer", grid: MTLSize(width: Int(p.pixels), height: 1, depth: 1)) { e in
            e.setBuffer(original, offset: 0, index: 0)
            e.setBuffer(inpainted, offset: 0, index: 1)
            e.setBuffer(mask, offset: 0, index: 2)
            e.setBuffer(output, offset: 0, index: 3)
            e.setBytes(&p, length: MemoryLayout<MKStitchParams>.stride, index: 4)
        }
    }

    /// `clicks`: `num_clicks` packed `MKClick` structs (nil when there are none).
    public func encodeClickMaps(_ cb: MTLCommandBuffer, clicks: MTLBuffer?, output: MTLBuffer, params: MKClickParams) throws {
        var p = params
        try dispatch(cb, "mk_click_maps_buffer", grid: MTLSize(width: Int(p.width), height: Int(p.height), depth: 1)) { e in
            e.setBuffer(clicks ?? dummy, offset: 0, index: 0)
            e.setBuffer(output, offset: 0, index: 1)
            e.setBytes(&p, length: MemoryLayout<MKClickParams>.stride, index: 2)
        }
    }

    public func encodeDepthOfField(_ cb: MTLCommandBuffer, image: MTLBuffer, depth: MTLBuffer, output: MTLBuffer,
                                   params: MKDofParams) throws {
        var p = params
        try dispatch(cb, "mk_depth_of_field_buffer", grid: MTLSize(width: Int(p.width), height: Int(p.height), depth: Int(p.batch))) { e in
            e.setBuffer(image, offset: 0, index: 0)
            e.setBuffer(depth, offset: 0, index: 1)
            e.setBuffer(output, offset: 0, index: 2)
            e.setBytes(&p, length: MemoryLayout<MKDofParams>.stride, index: 3)
        }
    }

    // MARK: texture kernels (Core ML custom layers: 2-D array textures, 4 channels per slice)

    /// `params.height/width` must be the texture size; `params.channels` the real channel count
    /// (used to index `filter`, HWC); `params.batch` is ignored.
    public func encodeMorphology(_ cb: MTLCommandBuffer, input: MTLTexture, filter: MTLBuffer?, output: MTLTexture,
                                 params: MKMorphParams) throws {
        var p = params
        try dispatch(cb, "mk_morphology_texture", grid: MTLSize(width: output.width, height: output.height, depth: output.arrayLength)) { e in
            e.setTexture(input, index: 0)
            e.setTexture(output, index: 1)
            e.setBuffer(filter ?? dummy, offset: 0, index: 0)
            e.setBytes(&p, length: MemoryLayout<MKMorphParams>.stride, index: 1)
        }
    }

    public func encodeResize(_ cb: MTLCommandBuffer, input: MTLTexture, output: MTLTexture, bicubic: Bool) throws {
        var p = MKResizeParams(batch: 1, in_height: Int32(input.height), in_width: Int32(input.width), channels: 4,
                               out_height: Int32(output.height), out_width: Int32(output.width))
        let name = bicubic ? "mk_resize_bicubic_texture" : "mk_resize_area_texture"
        try dispatch(cb, name, grid: MTLSize(width: output.width, height: output.height, depth: output.arrayLength)) { e in
            e.setTexture(input, index: 0)
            e.setTexture(output, index: 1)
            e.setBytes(&p, length: MemoryLayout<MKResizeParams>.stride, index: 0)
        }
    }

    // MARK: MKImage convenience (allocates shared buffers, runs synchronously)

    func buffer(_ values: [Float]) throws -> MTLBuffer {
        let b = values.withUnsafeBytes { raw -> MTLBuffer? in
            guard let base = raw.baseAddress, raw.count > 0 else { return device.makeBuffer(length: 16, options: .storageModeShared) }
            return device.makeBuffer(bytes: base, length: raw.count, options: .storageModeShared)
        }
        guard let buf = b else { throw MKShaderError.runtime("cannot allocate a buffer of \(values.count) floats") }
        return buf
    }

    func emptyBuffer(_ count: Int) throws -> MTLBuffer {
        guard let b = device.makeBuffer(length: max(16, count * MemoryLayout<Float>.stride), options: .storageModeShared) else {
            throw MKShaderError.runtime("cannot allocate a buffer of \(count) floats")
        }
        return b
    }

    func run(_ body: (MTLCommandBuffer) throws -> Void) throws {
        guard let cb = queue.makeCommandBuffer() else { throw MKShaderError.runtime("cannot create a command buffer") }
        try body(cb)
        cb.commit()
        cb.waitUntilCompleted()
        if let error = cb.error { throw MKShaderError.runtime("command buffer failed: \(error)") }
    }

    func read(_ b: MTLBuffer, into image: inout MKImage) {
        let n = image.count
        let src = b.contents().bindMemory(to: Float.self, capacity: max(n, 1))
        image.data = Array(UnsafeBufferPointer(start: src, count: n))
    }

    public func erosion2D(_ x: MKImage, kernelHeight: Int, kernelWidth: Int? = nil, filter: [Float]? = nil) throws -> MKImage {
        try morphology(x, kernelHeight, kernelWidth ?? kernelHeight, filter, dilate: false)
    }

    public func dilation2D(_ x: MKImage, kernelHeight: Int, kernelWidth: Int? = nil, filter: [Float]? = nil) throws -> MKImage {
        try morphology(x, kernelHeight, kernelWidth ?? kernelHeight, filter, dilate: true)
    }

    func morphology(_ x: MKImage, _ kh: Int, _ kw: Int, _ filter: [Float]?, dilate: Bool) throws -> MKImage {
        if let f = filter, f.count != kh * kw * x.channels {
            throw MKShaderError.invalidArgument("filter must hold kh*kw*C = \(kh * kw * x.channels) values (HWC), got \(f.count)")
        }
        let p = try MKCPU.morphParams(x, kh, kw, hasFilter: filter != nil, dilate: dilate)
        var out = try MKImage(batch: x.batch, height: x.height, width: x.width, channels: x.channels)
        let (i, o) = (try buffer(x.data), try emptyBuffer(out.count))
        let f = try filter.map { try buffer($0) }
        try run { cb in try encodeMorphology(cb, input: i, filter: f, output: o, params: p) }
        read(o, into: &out)
        return out
    }

    public func resizeBicubic(_ x: MKImage, height: Int, width: Int) throws -> MKImage {
        try resize(x, height, width, bicubic: true)
    }

    public func resizeArea(_ x: MKImage, height: Int, width: Int) throws -> MKImage {
        try resize(x, height, width, bicubic: false)
    }

    func resize(_ x: MKImage, _ h: Int, _ w: Int, bicubic: Bool) throws -> MKImage {
        let p = try MKCPU.resizeParams(x, h, w)
        var out = try MKImage(batch: x.batch, height: h, width: w, channels: x.channels)
        let (i, o) = (try buffer(x.data), try emptyBuffer(out.count))
        try run { cb in try encodeResize(cb, input: i, output: o, params: p, bicubic: bicubic) }
        read(o, into: &out)
        return out
    }

    public func stitch(original: MKImage, inpainted: MKImage, mask: MKImage) throws -> MKImage {
        guard original.shape == inpainted.shape, mask.batch == original.batch, mask.height == original.height,
              mask.width == original.width, mask.channels == 1 || mask.channels == original.channels else {
            throw MKShaderError.invalidArgument("stitch shapes: original \(original.shape), inpainted \(inpainted.shape), mask \(mask.shape)")
        }
        let p = MKStitchParams(pixels: try MKCPU.int32(original.batch * original.height * original.width, "pixels"),
                               channels: try MKCPU.int32(original.channels, "channels"),
                               mask_channels: try MKCPU.int32(mask.channels, "mask_channels"))
        var out = try MKImage(batch: original.batch, height: original.height, width: original.width, channels: original.channels)
        let (a, b, m, o) = (try buffer(original.data), try buffer(inpainted.data), try buffer(mask.data), try emptyBuffer(out.count))
        try run { cb in try encodeStitch(cb, original: a, inpainted: b, mask: m, output: o, params: p) }
        read(o, into: &out)
        return out
    }

    public func clickMaps(_ clicks: [MKClickPoint], height: Int, width: Int, truncate: Float = 255,
                          normalized: Bool = false) throws -> MKImage {
        guard truncate > 0 else { throw MKShaderError.invalidArgument("truncate must be > 0, got \(truncate)") }
        let cc = try MKCPU.cClicks(clicks, height: height, width: width)
        let p = MKClickParams(height: try MKCPU.int32(height, "height"), width: try MKCPU.int32(width, "width"),
                              num_clicks: try MKCPU.int32(cc.count, "clicks"), truncate: truncate, normalize: normalized ? 1 : 0)
        var out = try MKImage(batch: 1, height: height, width: width, channels: 2)
        let cbuf: MTLBuffer? = cc.isEmpty ? nil : cc.withUnsafeBytes { raw in
            device.makeBuffer(bytes: raw.baseAddress!, length: raw.count, options: .storageModeShared)
        }
        if !cc.isEmpty && cbuf == nil { throw MKShaderError.runtime("cannot allocate the click buffer") }
        let o = try emptyBuffer(out.count)
        try run { cb in try encodeClickMaps(cb, clicks: cbuf, output: o, params: p) }
        read(o, into: &out)
        return out
    }

    public func depthOfField(_ image: MKImage, depth: MKImage, focalDepth: Float, strength: Float, maxRadius: Int) throws -> MKImage {
        let p = try MKCPU.dofParams(image, depth, focalDepth, strength, maxRadius)
        var out = try MKImage(batch: image.batch, height: image.height, width: image.width, channels: image.channels)
        let (a, d, o) = (try buffer(image.data), try buffer(depth.data), try emptyBuffer(out.count))
        try run { cb in try encodeDepthOfField(cb, image: a, depth: d, output: o, params: p) }
        read(o, into: &out)
        return out
    }
}
#endif
