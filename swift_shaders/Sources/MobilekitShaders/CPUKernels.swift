import Foundation
#if canImport(MobilekitKernelMath)  // SwiftPM; apps that copy the sources import the C header via a bridging header
import MobilekitKernelMath
#endif

/// CPU path of every kernel: runs the shared C math (mk_kernel_math.h) over whole images.
/// Available on every platform (also Linux); results are the parity reference for the Metal path.
/// Semantics: mobilekit/shaders/reference/ and swift_shaders/README.md.
public enum MKCPU {
    static func int32(_ v: Int, _ what: String) throws -> Int32 {
        guard let r = Int32(exactly: v) else { throw MKShaderError.invalidArgument("\(what) = \(v) does not fit in Int32") }
        return r
    }

    static func check(_ rc: Int32, _ op: String) throws {
        if rc != 0 { throw MKShaderError.invalidArgument("\(op): parameters rejected by the kernel (rc \(rc))") }
    }

    static func morphParams(_ x: MKImage, _ kh: Int, _ kw: Int, hasFilter: Bool, dilate: Bool) throws -> MKMorphParams {
        guard kh > 0, kw > 0, kh % 2 == 1, kw % 2 == 1 else {
            throw MKShaderError.invalidArgument("structuring element must have odd positive sizes, got \(kh)x\(kw)")
        }
        return MKMorphParams(batch: try int32(x.batch, "batch"), height: try int32(x.height, "height"),
                             width: try int32(x.width, "width"), channels: try int32(x.channels, "channels"),
                             kernel_height: try int32(kh, "kernel_height"), kernel_width: try int32(kw, "kernel_width"),
                             has_filter: hasFilter ? 1 : 0, dilate: dilate ? 1 : 0)
    }

    static func morphology(_ x: MKImage, _ kh: Int, _ kw: Int?, _ filter: [Float]?, dilate: Bool) throws -> MKImage {
        let kw = kw ?? kh
        if let f = filter, f.count != kh * kw * x.channels {
            throw MKShaderError.invalidArgument("filter must hold kh*kw*C = \(kh * kw * x.channels) values (HWC), got \(f.count)")
        }
        let p = try morphParams(x, kh, kw, hasFilter: filter != nil, dilate: dilate)
        var out = try MKImage(batch: x.batch, height: x.height, width: x.width, channels: x.channels)
        let f = filter ?? [0]
        let rc = x.data.withUnsafeBufferPointer { xi in
            f.withUnsafeBufferPointer { fi in
                out.data.withUnsafeMutableBufferPointer { o in mk_morphology(xi.baseAddress, fi.baseAddress, o.baseAddress, p) }
            }
        }
        try check(rc, dilate ? "dilation2D" : "erosion2D")
        return out
    }

    /// `tf.nn.erosion2d` (SAME, strides 1, dilations 1): window minimum for a flat `kh x kw`
    /// element (odd sizes), or `min(in - filter[kh-1-dy, kw-1-dx])` for an HWC `filter`.
    public static func erosion2D(_ x: MKImage, kernelHeight: Int, kernelWidth: Int? = nil, filter: [Float]? = nil) throws -> MKImage {
        try morphology(x, kernelHeight, kernelWidth, filter, dilate: false)
    }

    /// `tf.nn.dilation2d` (SAME, strides 1, dilations 1): window maximum (+ filter when given).
    public static func dilation2D(_ x: MKImage, kernelHeight: Int, kernelWidth: Int? = nil, filter: [Float]? = nil) throws -> MKImage {
        try morphology(x, kernelHeight, kernelWidth, filter, dilate: true)
    }

    static func resizeParams(_ x: MKImage, _ h: Int, _ w: Int) throws -> MKResizeParams {
        guard h > 0, w > 0 else { throw MKShaderError.invalidArgument("output size must be positive, got \(h)x\(w)") }
        return MKResizeParams(batch: try int32(x.batch, "batch"), in_height: try int32(x.height, "height"),
                              in_width: try int32(x.width, "width"), channels: try int32(x.channels, "channels"),
                              out_height: try int32(h, "out_height"), out_width: try int32(w, "out_width"))
    }

    static func resize(_ x: MKImage, _ h: Int, _ w: Int, bicubic: Bool) throws -> MKImage {
        let p = try resizeParams(x, h, w)
        var out = try MKImage(batch: x.batch, height: h, width: w, channels: x.channels)
        let rc = x.data.withUnsafeBufferPointer { xi in
            out.data.withUnsafeMutableBufferPointer { o in
                bicubic ? mk_resize_bicubic(xi.baseAddress, o.baseAddress, p) : mk_resize_area(xi.baseAddress, o.baseAddress, p)
            }
        }
        try check(rc, bicubic ? "resizeBicubic" : "resizeArea")
        return out
    }

    /// `tf.image.resize(x, [height, width], method="bicubic", antialias=False)`.
    public static func resizeBicubic(_ x: MKImage, height: Int, width: Int) throws -> MKImage {
        try resize(x, height, width, bicubic: true)
    }

    /// `tf.image.resize(x, [height, width], method="area")`.
    public static func resizeArea(_ x: MKImage, height: Int, width: Int) throws -> MKImage {
        try resize(x, height, width, bicubic: false)
    }

    /// `out = (1 - m) * original + m * inpainted` with `m = mask > 0 ? min(mask, 1) : 0`; the mask
    /// has 1 channel (broadcast) or as many as the images. Binary masks give an exact select.
    public static func stitch(original: MKImage, inpainted: MKImage, mask: MKImage) throws -> MKImage {
        guard original.shape == inpainted.shape else {
            throw MKShaderError.invalidArgument("original \(original.shape) and inpainted \(inpainted.shape) differ")
        }
        guard mask.batch == original.batch, mask.height == original.height, mask.width == original.width,
              mask.channels == 1 || mask.channels == original.channels else {
            throw MKShaderError.invalidArgument("mask \(mask.shape) does not match images \(original.shape)")
        }
        let p = MKStitchParams(pixels: try int32(original.batch * original.height * original.width, "pixels"),
                               channels: try int32(original.channels, "channels"),
                               mask_channels: try int32(mask.channels, "mask_channels"))
        var out = try MKImage(batch: original.batch, height: original.height, width: original.width, channels: original.channels)
        let rc = original.data.withUnsafeBufferPointer { a in
            inpainted.data.withUnsafeBufferPointer { b in
                mask.data.withUnsafeBufferPointer { m in
                    out.data.withUnsafeMutableBufferPointer { o in mk_stitch(a.baseAddress, b.baseAddress, m.baseAddress, o.baseAddress, p) }
                }
            }
        }
        try check(rc, "stitch")
        return out
    }

    static func cClicks(_ clicks: [MKClickPoint], height: Int, width: Int) throws -> [MKClick] {
        try clicks.map { c in
            guard c.y >= 0, c.y < height, c.x >= 0, c.x < width else {
                throw MKShaderError.invalidArgument("click (y=\(c.y), x=\(c.x)) lies outside the \(height)x\(width) image")
            }
            return MKClick(y: Int32(c.y), x: Int32(c.x), positive: c.positive ? 1 : 0)
        }
    }

    /// Click distance maps (1, H, W, 2): channel 0 = Euclidean distance to the nearest positive
    /// click, channel 1 = nearest negative, `min(d, truncate)`, `truncate` when there is none.
    /// `normalized: true` returns the model input `clip(d / truncate, 0, 1)`.
    public static func clickMaps(_ clicks: [MKClickPoint], height: Int, width: Int, truncate: Float = 255,
                                 normalized: Bool = false) throws -> MKImage {
        guard truncate > 0 else { throw MKShaderError.invalidArgument("truncate must be > 0, got \(truncate)") }
        let cc = try cClicks(clicks, height: height, width: width)
        let p = MKClickParams(height: try int32(height, "height"), width: try int32(width, "width"),
                              num_clicks: try int32(cc.count, "clicks"), truncate: truncate, normalize: normalized ? 1 : 0)
        var out = try MKImage(batch: 1, height: height, width: width, channels: 2)
        let rc = cc.withUnsafeBufferPointer { ci in
            out.data.withUnsafeMutableBufferPointer { o in mk_click_maps(ci.baseAddress, o.baseAddress, p) }
        }
        try check(rc, "clickMaps")
        return out
    }

    static func dofParams(_ image: MKImage, _ depth: MKImage, _ focal: Float, _ strength: Float, _ maxRadius: Int) throws -> MKDofParams {
        guard depth.batch == image.batch, depth.height == image.height, depth.width == image.width, depth.channels == 1 else {
            throw MKShaderError.invalidArgument("depth \(depth.shape) must be [\(image.batch), \(image.height), \(image.width), 1]")
        }
        guard maxRadius >= 0 else { throw MKShaderError.invalidArgument("maxRadius must be >= 0, got \(maxRadius)") }
        return MKDofParams(batch: try int32(image.batch, "batch"), height: try int32(image.height, "height"),
                           width: try int32(image.width, "width"), channels: try int32(image.channels, "channels"),
                           focal_depth: focal, strength: strength, max_radius: try int32(maxRadius, "maxRadius"))
    }

    /// Per-pixel blur radius: `min(maxRadius, floor(strength * |depth - focalDepth| + 0.5))`, 0 when
    /// that product is not > 0. Returned as (N, H, W, 1) floats holding integers.
    public static func dofRadius(depth: MKImage, focalDepth: Float, strength: Float, maxRadius: Int) throws -> MKImage {
        let p = try dofParams(depth, depth, focalDepth, strength, maxRadius)
        var r = [Int32](repeating: 0, count: depth.count)
        let rc = depth.data.withUnsafeBufferPointer { d in
            r.withUnsafeMutableBufferPointer { o in mk_dof_radius_map(d.baseAddress, o.baseAddress, p) }
        }
        try check(rc, "dofRadius")
        return try MKImage(batch: depth.batch, height: depth.height, width: depth.width, channels: 1, data: r.map { Float($0) })
    }

    /// Depth-of-field blur: mean of the (2r+1)x(2r+1) window intersected with the image (only
    /// in-image pixels are averaged), r = `dofRadius` at that pixel. `depth` is (N, H, W, 1).
    public static func depthOfField(_ image: MKImage, depth: MKImage, focalDepth: Float, strength: Float,
                                    maxRadius: Int) throws -> MKImage {
        let p = try dofParams(image, depth, focalDepth, strength, maxRadius)
        var out = try MKImage(batch: image.batch, height: image.height, width: image.width, channels: image.channels)
        let rc = image.data.withUnsafeBufferPointer { a in
            depth.data.withUnsafeBufferPointer { d in
                out.data.withUnsafeMutableBufferPointer { o in mk_depth_of_field(a.baseAddress, d.baseAddress, o.baseAddress, p) }
            }
        }
        try check(rc, "depthOfField")
        return out
    }
}
