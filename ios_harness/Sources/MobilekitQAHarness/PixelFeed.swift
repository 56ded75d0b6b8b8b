import Foundation

/// Color layout of a Core ML image input (coremltools `ct.colorlayout`): the channel order of the
/// model's input tensor, i.e. of the stored fixture values.
public enum ColorLayout: String, Sendable, CaseIterable {
    case rgb = "RGB"
    case bgr = "BGR"
    case grayscale = "GRAYSCALE"

    /// "RGB", "BGR", "GRAYSCALE" (also "GRAY", "L"), case-insensitive. GRAYSCALE_FLOAT16 (16-bit
    /// half-float pixels) is not an 8-bit layout and is refused.
    public init(parsing text: String) throws {
        switch text.uppercased() {
        case "RGB": self = .rgb
        case "BGR": self = .bgr
        case "GRAYSCALE", "GRAY", "L": self = .grayscale
        default: throw HarnessError.badArgument("color layout \"\(text)\" is not RGB, BGR or GRAYSCALE (8-bit)")
        }
    }

    public var channels: Int { self == .grayscale ? 1 : 3 }
}

/// 8-bit pixels ready to copy into a CVPixelBuffer: `bgra32` (kCVPixelFormatType_32BGRA, bytes B G R A
/// per pixel, A = 255) for color layouts, `gray8` (kCVPixelFormatType_OneComponent8) for grayscale.
/// Rows are tightly packed (`bytesPerRow = width * bytesPerPixel`); a CVPixelBuffer may pad its rows,
/// so copy row by row.
public struct PixelImage: Equatable, Sendable {
    public enum Format: String, Sendable { case bgra32, gray8 }

    public let width: Int
    public let height: Int
    public let format: Format
    public let bytes: [UInt8]

    public var bytesPerPixel: Int { format == .bgra32 ? 4 : 1 }
    public var bytesPerRow: Int { width * bytesPerPixel }

    /// The pixel at (x, y) as stored: [B, G, R, A] or [gray].
    public func pixel(x: Int, y: Int) -> [UInt8] {
        let start = y * bytesPerRow + x * bytesPerPixel
        return Array(bytes[start..<start + bytesPerPixel])
    }
}

/// The pure part of feeding a Core ML image input from fixture values: stored values are what
/// TFLite takes (already normalized); Core ML takes 8-bit pixels and applies `scale`/`bias` itself,
/// so `pixel = round((value - bias) / scale)` clamped to 0...255 (round half to even, as NumPy's
/// `rint` in mobilekit's quantize_image_inputs; fixtures are on the 8-bit grid, so this is exact).
public enum PixelFeed {
    /// One value → one 8-bit pixel. NaN → 0.
    public static func pixel(_ value: Float, scale: Double, bias: Double) -> UInt8 {
        let p = ((Double(value) - bias) / scale).rounded(.toNearestOrEven)
        guard !p.isNaN else { return 0 }
        return UInt8(min(max(p, 0), 255))
    }

    /// What Core ML computes from a pixel: `pixel * scale + bias` (float32).
    public static func value(ofPixel pixel: UInt8, scale: Double, bias: Double) -> Float {
        Float(Double(pixel) * scale + bias)
    }

    /// (height, width, channel-last?) of an image input shape: [1, H, W, C] (what mobilekit writes),
    /// [1, C, H, W], [H, W, C] or [C, H, W], with C the layout's channel count.
    public static func geometry(_ shape: [Int], layout: ColorLayout) throws -> (height: Int, width: Int, channelLast: Bool) {
        let c = layout.channels
        var dims = shape
        if dims.count == 4 {
            guard dims[0] == 1 else { throw HarnessError.badArgument("image input shape \(shape): batch must be 1") }
            dims.removeFirst()
        }
        guard dims.count == 3 else { throw HarnessError.badArgument("image input shape \(shape) is not [1, H, W, \(c)]") }
        if dims[2] == c { return (dims[0], dims[1], true) }
        if dims[0] == c { return (dims[1], dims[2], false) }
        throw HarnessError.badArgument("image input shape \(shape) has no \(c)-channel axis for \(layout.rawValue)")
    }

    /// Stored image values (row-major, `tensor.shape` as in the index) → 8-bit pixels.
    /// RGB: B = channel 2, G = channel 1, R = channel 0; BGR: B = channel 0, G = 1, R = 2; A = 255.
    public static func image(from tensor: Tensor, scale: Double, bias: Double, layout: ColorLayout) throws -> PixelImage {
        guard scale.isFinite, scale != 0, bias.isFinite else {
            throw HarnessError.badArgument("image scale \(scale) / bias \(bias) cannot map values to pixels")
        }
        let (h, w, channelLast) = try geometry(tensor.shape, layout: layout)
        let c = layout.channels
        let v = tensor.values
        func at(_ y: Int, _ x: Int, _ ch: Int) -> Float {
            channelLast ? v[(y * w + x) * c + ch] : v[(ch * h + y) * w + x]
        }
        var bytes = [UInt8](repeating: 0, count: h * w * (c == 1 ? 1 : 4))
        for y in 0..<h {
            for x in 0..<w {
                switch layout {
                case .grayscale:
                    bytes[y * w + x] = pixel(at(y, x, 0), scale: scale, bias: bias)
                case .rgb, .bgr:
                    let p = (y * w + x) * 4
                    let (blue, red) = layout == .rgb ? (2, 0) : (0, 2)
                    bytes[p] = pixel(at(y, x, blue), scale: scale, bias: bias)
                    bytes[p + 1] = pixel(at(y, x, 1), scale: scale, bias: bias)
                    bytes[p + 2] = pixel(at(y, x, red), scale: scale, bias: bias)
                    bytes[p + 3] = 255
                }
            }
        }
        return PixelImage(width: w, height: h, format: c == 1 ? .gray8 : .bgra32, bytes: bytes)
    }

    /// For an index input: scale, bias and color layout from its `feed.coreml` (else normalization).
    public static func image(from tensor: Tensor, input: FixtureIndex.InputSpec) throws -> PixelImage {
        try image(from: tensor, scale: input.pixelScale, bias: input.pixelBias, layout: ColorLayout(parsing: input.colorLayout))
    }

    /// Largest |value − (pixel·scale + bias)| over the tensor: 0 (or float rounding) when the fixture is
    /// on the 8-bit grid, i.e. Core ML sees the numbers TensorFlow did.
    public static func maxRoundTripError(_ tensor: Tensor, scale: Double, bias: Double) -> Double {
        tensor.values.reduce(0) { worst, v in
            max(worst, abs(Double(v) - Double(value(ofPixel: pixel(v, scale: scale, bias: bias), scale: scale, bias: bias))))
        }
    }
}
