// swift-tools-version:5.9
// MobilekitQAHarness: the iOS side of mobilekit device QA (docs/device-qa.md).
//
//   MobilekitQAHarness   library. Reads a bundle's fixtures/ (index.json + raw little-endian float32
//                        .bin files, sha256-checked), runs every case through a ModelRunner, writes
//                        OUT/<case>/<output>.bin + OUT/device.json (what `mobilekit qa ingest` reads)
//                        and compares on the device (max_abs / mean_abs / psnr vs the artifact's
//                        tolerance). Everything but CoreMLModelRunner (canImport(CoreML)) builds and is
//                        tested on Linux.
//   mobilekit-qa-replay  executable. Replays the goldens as if a model produced them (optionally
//                        perturbing one case/output): exercises the whole output path without a device.
//   DeviceFixtureTests   XCTest target run on an iOS device/simulator (or macOS): the bundle's Core ML
//                        model on every case. Skips on Linux and when MOBILEKIT_QA_BUNDLE is not set.
import PackageDescription

let package = Package(
    name: "MobilekitQAHarness",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "MobilekitQAHarness", targets: ["MobilekitQAHarness"]),
        .executable(name: "mobilekit-qa-replay", targets: ["mobilekit-qa-replay"]),
    ],
    targets: [
        .target(name: "MobilekitQAHarness"),
        .executableTarget(name: "mobilekit-qa-replay", dependencies: ["MobilekitQAHarness"]),
        .testTarget(name: "MobilekitQAHarnessTests", dependencies: ["MobilekitQAHarness"]),
        .testTarget(name: "DeviceFixtureTests", dependencies: ["MobilekitQAHarness"]),
    ]
)
