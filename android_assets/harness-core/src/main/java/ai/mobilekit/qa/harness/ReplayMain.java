package ai.mobilekit.qa.harness;

import java.io.File;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UnsupportedEncodingException;
import java.util.ArrayList;
import java.util.List;

/**
 * Plays the device on the JVM: runs {@link HarnessRunner} with a {@link GoldenReplayRunner} over a
 * bundle's fixtures and writes the outputs {@code mobilekit qa ingest} reads.
 *
 * <pre>
 * java -cp android_assets/harness-core/build/classes ai.mobilekit.qa.harness.ReplayMain \
 *     FIXTURES_DIR OUT_DIR [--perturb CASE:OUTPUT:DELTA]... [--device NAME] [--artifact PATH|NAME|TARGET]
 * </pre>
 *
 * FIXTURES_DIR is the bundle's {@code fixtures/} directory or the unzipped bundle holding it. Prints one
 * line per case and exits 0 when every case passed the on-device comparison, 1 when one failed, 2 on
 * bad input (one line naming the file or argument).
 */
public final class ReplayMain {
    public static final int EXIT_PASSED = 0;
    public static final int EXIT_FAILED = 1;
    public static final int EXIT_BAD_INPUT = 2;
    static final String USAGE = "usage: ReplayMain FIXTURES_DIR OUT_DIR [--perturb CASE:OUTPUT:DELTA]... [--device NAME]"
            + " [--artifact PATH|NAME|TARGET]";

    private ReplayMain() {
    }

    public static void main(String[] args) {
        System.exit(run(args, utf8(FileDescriptor.out), utf8(FileDescriptor.err)));
    }

    /** The CLI without {@code System.exit}: returns the exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> positional = new ArrayList<String>();
        List<GoldenReplayRunner.Perturbation> perturbations = new ArrayList<GoldenReplayRunner.Perturbation>();
        String device = "jvm-replay";
        String artifactName = null;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("-h") || a.equals("--help")) {
                    out.println(USAGE);
                    return EXIT_PASSED;
                } else if (a.equals("--perturb") || a.equals("--device") || a.equals("--artifact")) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(a + " needs a value");
                    }
                    String v = args[++i];
                    if (a.equals("--perturb")) {
                        perturbations.add(GoldenReplayRunner.Perturbation.parse(v));
                    } else if (a.equals("--device")) {
                        device = v;
                    } else {
                        artifactName = v;
                    }
                } else if (a.startsWith("--")) {
                    throw new IllegalArgumentException("unknown option " + a);
                } else {
                    positional.add(a);
                }
            }
            if (positional.size() != 2) {
                throw new IllegalArgumentException("expected FIXTURES_DIR and OUT_DIR, got " + positional.size() + " argument(s)");
            }
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            err.println(USAGE);
            return EXIT_BAD_INPUT;
        }
        File outDir = new File(positional.get(1));
        try {
            FixtureIndex index = FixtureIndex.load(fixturesDir(new File(positional.get(0))));
            FixtureIndex.Artifact artifact = index.artifact(artifactName);
            GoldenReplayRunner model = new GoldenReplayRunner(index, perturbations);
            String os = System.getProperty("os.name") + " " + System.getProperty("os.version") + ", Java " + System.getProperty("java.version");
            out.println("replaying " + index.cases.size() + " case(s)" + (index.bundleName != null ? " of " + index.bundleName : "")
                    + " into " + outDir);
            HarnessReport report = new HarnessRunner(index, artifact, model, new OutputWriter(outDir)).run(device, os, "cpu");
            for (String line : report.lines()) {
                out.println(line);
            }
            return report.passed() ? EXIT_PASSED : EXIT_FAILED;
        } catch (FixtureException e) {
            err.println("error: " + e.getMessage());
            return EXIT_BAD_INPUT;
        } catch (IOException e) {
            err.println("error: " + e.getMessage());
            return EXIT_BAD_INPUT;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /** {@code dir} when it holds index.json, else {@code dir/fixtures} when that does (an unzipped bundle). */
    static File fixturesDir(File dir) throws FixtureException {
        if (new File(dir, FixtureIndex.INDEX_NAME).isFile()) {
            return dir;
        }
        File nested = new File(dir, "fixtures");
        if (new File(nested, FixtureIndex.INDEX_NAME).isFile()) {
            return nested;
        }
        throw new FixtureException(new File(dir, FixtureIndex.INDEX_NAME) + ": not found (give the fixtures/ directory of an"
                + " unzipped bundle, or the bundle directory holding it)");
    }

    private static PrintStream utf8(FileDescriptor fd) {
        try {
            return new PrintStream(new FileOutputStream(fd), true, "UTF-8");
        } catch (UnsupportedEncodingException e) {
            throw new IllegalStateException(e); // UTF-8 is always supported
        }
    }
}
