import Foundation

/// Errors of the MobilekitShaders API.
public enum MKShaderError: Error, CustomStringConvertible, Equatable {
    /// A shape, size or parameter is not acceptable (the message says which).
    case invalidArgument(String)
    /// The Metal library with the mobilekit kernels could not be found or compiled.
    case libraryUnavailable(String)
    /// Metal / Core ML failed at run time (device, buffer, pipeline or command buffer errors).
    case runtime(String)

    public var description: String {
        switch self {
        case .invalidArgument(let m): return "invalid argument: \(m)"
        case .libraryUnavailable(let m): return "Metal library unavailable: \(m)"
        case .runtime(let m): return "runtime error: \(m)"
        }
    }
}

/// A float32 image batch in NHWC layout (row-major, contiguous): index ((n * H + y) * W + x) * C + c.
public struct MKImage: Equatable {
    public let batch: Int
    public let height: Int
    public let width: Int
    public let channels: Int
    public var data: [Float]

    public init(batch: Int = 1, height: Int, width: Int, channels: Int, data: [Float]) throws {
        guard batch >= 0, height > 0, width > 0, channels > 0 else {
            throw MKShaderError.invalidArgument("image shape must be positive, got [\(batch), \(height), \(width), \(channels)]")
        }
        guard data.count == batch * height * width * channels else {
            throw MKShaderError.invalidArgument(
                "data has \(data.count) values, shape [\(batch), \(height), \(width), \(channels)] needs \(batch * height * width * channels)")
        }
        self.batch = batch
        self.height = height
        self.width = width
        self.channels = channels
        self.data = data
    }

    public init(batch: Int = 1, height: Int, width: Int, channels: Int, repeating value: Float = 0) throws {
        try self.init(batch: batch, height: height, width: width, channels: channels,
                      data: [Float](repeating: value, count: max(0, batch * height * width * channels)))
    }

    /// [N, H, W, C]
    public var shape: [Int] { [batch, height, width, channels] }
    public var count: Int { data.count }

    @inline(__always) public func offset(_ n: Int, _ y: Int, _ x: Int, _ c: Int) -> Int {
        ((n * height + y) * width + x) * channels + c
    }

    public subscript(n: Int, y: Int, x: Int, c: Int) -> Float {
        get { data[offset(n, y, x, c)] }
        set { data[offset(n, y, x, c)] = newValue }
    }
}

/// A user click at an integer pixel (row `y`, column `x`); positive clicks fill channel 0 of the
/// click maps, negative clicks channel 1. Same fields as `mobilekit.data.clicks.Click`.
public struct MKClickPoint: Equatable, Hashable {
    public var y: Int
    public var x: Int
    public var positive: Bool

    public init(y: Int, x: Int, positive: Bool) {
        self.y = y
        self.x = x
        self.positive = positive
    }
}
