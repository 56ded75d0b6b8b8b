package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class ReplayMainTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private String stdout;
    private String stderr;

    private int main(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = ReplayMain.run(args, new PrintStream(out, true, "UTF-8"), new PrintStream(err, true, "UTF-8"));
        stdout = out.toString("UTF-8");
        stderr = err.toString("UTF-8");
        return rc;
    }

    @Test
    public void exitsZeroWhenEveryCasePasses() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 2);
        File out = new File(tmp.getRoot(), "out");
        assertEquals(stderr, 0, main(fixtures.getPath(), out.getPath(), "--device", "Pixel 8"));
        assertTrue(stdout, stdout.contains("✓ case-000: mask max_abs 0, psnr exact\n✓ case-001: mask max_abs 0, psnr exact\n"));
        assertTrue(new File(out, "case-001/mask.bin").isFile());
        Object meta = Json.parse(new String(IoUtil.readBytes(new File(out, "device.json")), "UTF-8"));
        assertEquals("Pixel 8", ((java.util.Map<?, ?>) meta).get("device"));
        // the unzipped bundle directory (holding fixtures/) works too
        assertEquals(stderr, 0, main(tmp.getRoot().getPath(), new File(tmp.getRoot(), "out2").getPath()));
    }

    @Test
    public void exitsOneWhenAPerturbedCaseFails() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 3);
        assertEquals(stderr, 1, main(fixtures.getPath(), new File(tmp.getRoot(), "out").getPath(), "--perturb", "case-002:mask:-0.01"));
        assertTrue(stdout, stdout.contains("✓ case-001"));
        assertTrue(stdout, stdout.contains("✗ case-002: mask: max_abs 0.01 > 0.0001"));
        assertTrue(stdout, stdout.contains("on-device comparison FAILED: 2/3 case(s)"));
    }

    @Test
    public void exitsTwoOnBadInputWithOneLineNamingTheFile() throws Exception {
        File missing = new File(tmp.getRoot(), "missing");
        assertEquals(2, main(missing.getPath(), new File(tmp.getRoot(), "out").getPath()));
        assertEquals("error: " + new File(missing, "index.json").getPath() + ": not found (give the fixtures/ directory of an unzipped"
                + " bundle, or the bundle directory holding it)\n", stderr);

        File fixtures = TestFixtures.write(tmp.getRoot(), 1);
        File mask = new File(fixtures, "case-000/expected/mask.bin");
        IoUtil.writeBytes(mask, new byte[8]);
        assertEquals(2, main(fixtures.getPath(), new File(tmp.getRoot(), "out").getPath()));
        assertTrue(stderr, stderr.startsWith("error: " + mask.getPath() + ": 8 bytes, expected 16"));
        assertEquals(stderr, 1, stderr.split("\n").length);

        assertEquals(2, main(fixtures.getPath()));
        assertTrue(stderr, stderr.startsWith("error: expected FIXTURES_DIR and OUT_DIR"));
        assertEquals(2, main(fixtures.getPath(), "out", "--perturb", "case-000"));
        assertTrue(stderr, stderr.startsWith("error: --perturb case-000: expected CASE:OUTPUT:DELTA"));
        assertEquals(2, main(fixtures.getPath(), "out", "--frobnicate"));
        assertTrue(stderr, stderr.startsWith("error: unknown option --frobnicate"));
    }
}
