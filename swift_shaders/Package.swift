// swift-tools-version:5.9
// MobilekitShaders: kernels for ops Core ML cannot run (morphology, bicubic/area resize) and the
// on-device pre/post-processing of the mobilekit models (click maps, masked stitch, depth of field).
//
//   MobilekitKernelMath  C target. include/mk_kernel_math.h holds the exact per-pixel math, shared
//                        verbatim by the Metal shaders; mk_image_ops.c runs it over whole images.
//   MobilekitShaders     Swift: CPU path (everywhere), Metal dispatch (canImport(Metal)) and Core ML
//                        MLCustomLayer classes (canImport(CoreML)). Metal/*.metal are compiled by
//                        Xcode into the module's default.metallib (TN3133 layout).
import PackageDescription

#if os(Linux) || os(Windows)
// No Metal toolchain: keep the shader sources out of the build (they are still in the package).
let shaderResources: [Resource] = []
let shaderExcludes = ["Metal"]
#else
let shaderResources: [Resource] = [.process("Metal")]
let shaderExcludes: [String] = []
#endif

let package = Package(
    name: "MobilekitShaders",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "MobilekitShaders", targets: ["MobilekitShaders"]),
        .library(name: "MobilekitKernelMath", targets: ["MobilekitKernelMath"]),
    ],
    targets: [
        .target(name: "MobilekitKernelMath"),
        .target(
            name: "MobilekitShaders",
            dependencies: ["MobilekitKernelMath"],
            exclude: shaderExcludes,
            resources: shaderResources
        ),
        .testTarget(
            name: "MobilekitShadersTests",
            dependencies: ["MobilekitShaders"],
            exclude: ["Fixtures"]
        ),
    ]
)
