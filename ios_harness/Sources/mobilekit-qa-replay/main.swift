// mobilekit-qa-replay <fixturesDir> <outDir> [--perturb CASE:OUTPUT:DELTA] [--device NAME] [--artifact NAME]
//
// Plays the device with the goldens: runs HarnessRunner with GoldenReplayRunner over every case of
// a bundle's fixtures (the `fixtures/` directory, or the unzipped bundle holding it), writes
// <outDir>/<case>/<output>.bin and <outDir>/device.json exactly as the iOS harness does, and prints
// one ✓/✗ line per case. Exit 0: every case passed the on-device comparison; 1: some case failed;
// 2: bad input (usage, unreadable/corrupt fixtures, unwritable outDir) with a one-line message.
import Foundation
import MobilekitQAHarness

let usage = "usage: mobilekit-qa-replay <fixturesDir> <outDir> [--perturb CASE:OUTPUT:DELTA] [--device NAME] [--artifact NAME]"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("mobilekit-qa-replay: \(message)\n".utf8))
    exit(2)
}

struct Arguments {
    var fixtures: String?
    var out: String?
    var perturb: String?
    var device: String?
    var artifact: String?
}

func parse(_ argv: [String]) -> Arguments {
    var args = Arguments()
    var i = 0
    func value(_ flag: String) -> String {
        i += 1
        guard i < argv.count, !argv[i].isEmpty else { fail("\(flag) needs a value; \(usage)") }
        return argv[i]
    }
    while i < argv.count {
        let a = argv[i]
        switch a {
        case "-h", "--help":
            print(usage)
            exit(0)
        case "--perturb": args.perturb = value(a)
        case "--device": args.device = value(a)
        case "--artifact": args.artifact = value(a)
        default:
            if a.hasPrefix("--perturb=") { args.perturb = String(a.dropFirst("--perturb=".count)) }
            else if a.hasPrefix("--device=") { args.device = String(a.dropFirst("--device=".count)) }
            else if a.hasPrefix("--artifact=") { args.artifact = String(a.dropFirst("--artifact=".count)) }
            else if a.hasPrefix("-") && a.count > 1 { fail("unknown option \(a); \(usage)") }
            else if args.fixtures == nil { args.fixtures = a }
            else if args.out == nil { args.out = a }
            else { fail("unexpected argument \(a); \(usage)") }
        }
        i += 1
    }
    return args
}

let args = parse(Array(CommandLine.arguments.dropFirst()))
guard let fixturesPath = args.fixtures, let outPath = args.out else { fail("missing arguments; \(usage)") }

do {
    let fixtures = try FixtureSet.load(URL(fileURLWithPath: fixturesPath))
    let perturbation = try args.perturb.map(Perturbation.parse)
    let artifact = try fixtures.index.defaultArtifact(named: args.artifact)
    let runner = try GoldenReplayRunner(fixtures: fixtures, perturbation: perturbation)
    let harness = try HarnessRunner(fixtures: fixtures, outputDirectory: URL(fileURLWithPath: outPath), runner: runner, artifact: artifact)
    let metadata = DeviceMetadata(device: args.device ?? "golden-replay", os: DeviceMetadata.currentOS,
                                  runtime: runner.runtime, artifact: artifact.path)
    let report = try harness.run(metadata: metadata) { print($0.line) }
    print(report.summaryLine)
    exit(report.passed ? 0 : 1)
} catch let error as HarnessError {
    fail(error.description)
} catch {
    fail(HarnessError.oneLine("\(error)"))
}
