package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class HarnessRunnerTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private HarnessReport replay(File fixtures, File out, List<GoldenReplayRunner.Perturbation> perturb) throws Exception {
        FixtureIndex index = FixtureIndex.load(fixtures);
        return new HarnessRunner(index, index.tfliteArtifact(), new GoldenReplayRunner(index, perturb), new OutputWriter(out))
                .run("JVM", "test-os", null);
    }

    @Test
    public void fullReplayPassesAndWritesEveryOutput() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 3);
        File out = new File(tmp.getRoot(), "out");
        HarnessReport report = replay(fixtures, out, Collections.<GoldenReplayRunner.Perturbation>emptyList());
        assertTrue(report.lines().toString(), report.passed());
        assertEquals(3, report.cases.size());
        for (int i = 0; i < 3; i++) {
            String id = TestFixtures.caseId(i);
            assertArrayEquals(IoUtil.readBytes(new File(fixtures, id + "/expected/mask.bin")), IoUtil.readBytes(new File(out, id + "/mask.bin")));
            assertEquals("✓ " + id + ": mask max_abs 0, psnr exact", report.cases.get(i).line());
        }
        Map<?, ?> meta = (Map<?, ?>) Json.parse(new String(IoUtil.readBytes(new File(out, "device.json")), "UTF-8"));
        assertEquals("golden-replay", meta.get("runtime"));
        assertEquals(TestFixtures.TFLITE, meta.get("artifact"));
        assertEquals("JVM", meta.get("device"));
        assertFalse(meta.containsKey("compute_units"));
        List<String> lines = report.lines();
        assertTrue(lines.get(3), lines.get(3).startsWith("on-device comparison passed: 3/3 case(s) within max_abs 0.0001"));
        assertTrue(lines.get(4), lines.get(4).contains("mask_iou") && lines.get(4).contains("mobilekit qa ingest"));
    }

    @Test
    public void perturbedCaseFailsAndTheOthersPass() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 3);
        File out = new File(tmp.getRoot(), "out");
        HarnessReport report = replay(fixtures, out, Arrays.asList(GoldenReplayRunner.Perturbation.parse("case-001:mask:0.5")));
        assertFalse(report.passed());
        assertEquals(Arrays.asList("case-001"), report.failedCases());
        HarnessReport.CaseResult bad = report.cases.get(1);
        assertEquals(0.5, bad.comparisons.get(0).maxAbs, 1e-6);
        assertEquals("✗ case-001: mask: max_abs 0.5 > 0.0001", bad.line());
        float[] golden = Float32Tensor.read(new File(fixtures, "case-001/expected/mask.bin"), TestFixtures.MASK, null).data();
        float[] written = Float32Tensor.read(new File(out, "case-001/mask.bin"), TestFixtures.MASK, null).data();
        for (int i = 0; i < golden.length; i++) {
            assertEquals(golden[i] + 0.5f, written[i], 0f);
        }
    }

    @Test
    public void modelErrorsAndWrongOutputsFailOnlyTheirCase() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 3);
        final FixtureIndex index = FixtureIndex.load(fixtures);
        final GoldenReplayRunner golden = new GoldenReplayRunner(index);
        ModelRunner flaky = new ModelRunner() {
            private int calls;

            @Override
            public Map<String, Float32Tensor> run(Map<String, Float32Tensor> inputs) throws Exception {
                calls++;
                if (calls == 1) {
                    throw new IllegalStateException("delegate crashed");
                }
                Map<String, Float32Tensor> out = new HashMap<String, Float32Tensor>(golden.run(inputs));
                if (calls == 2) {
                    out.put("mask", new Float32Tensor(new int[] {1, 4}, new float[4]));
                    out.put("extra", new Float32Tensor(new int[] {1}, new float[1]));
                }
                return out;
            }

            @Override
            public String runtime() {
                return "flaky";
            }
        };
        File out = new File(tmp.getRoot(), "out");
        HarnessReport report = new HarnessRunner(index, index.tfliteArtifact(), flaky, new OutputWriter(out)).run(null, null, null);
        assertEquals(Arrays.asList("case-000", "case-001"), report.failedCases());
        assertEquals(Arrays.asList("model failed: java.lang.IllegalStateException: delegate crashed"), report.cases.get(0).problems);
        assertEquals(Arrays.asList("output names: index [mask] vs model [extra, mask]",
                "shape of mask: model 1×4 vs index 1×2×2×1 (not written)"), report.cases.get(1).problems);
        assertFalse(new File(out, "case-000/mask.bin").exists());
        assertFalse(new File(out, "case-001/mask.bin").exists());
        assertFalse(new File(out, "case-001/extra.bin").exists());
        assertTrue(report.cases.get(2).passed);
    }

    @Test
    public void corruptFixturesAreBadInputNotFailures() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 2);
        File image = new File(fixtures, "case-001/inputs/image.bin");
        byte[] bytes = IoUtil.readBytes(image);
        bytes[0] ^= 1;
        IoUtil.writeBytes(image, bytes);
        try {
            replay(fixtures, new File(tmp.getRoot(), "out"), Collections.<GoldenReplayRunner.Perturbation>emptyList());
            fail();
        } catch (FixtureException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith(image.getPath() + ": sha256"));
        }
    }

    @Test
    public void perturbationsMustNameACaseAndOutput() throws Exception {
        FixtureIndex index = FixtureIndex.load(TestFixtures.write(tmp.getRoot(), 2));
        for (String spec : new String[] {"case-009:mask:1", "case-000:logits:1"}) {
            try {
                new GoldenReplayRunner(index, Arrays.asList(GoldenReplayRunner.Perturbation.parse(spec)));
                fail(spec);
            } catch (FixtureException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("--perturb: no "));
            }
        }
        for (String spec : new String[] {"case-000:mask", "case-000:mask:x", "::1", "case-000:mask:NaN"}) {
            try {
                GoldenReplayRunner.Perturbation.parse(spec);
                fail(spec);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().startsWith("--perturb " + spec + ": "));
            }
        }
    }

    @Test
    public void replayRecognisesCasesByTheirInputs() throws Exception {
        FixtureIndex index = FixtureIndex.load(TestFixtures.write(tmp.getRoot(), 2));
        GoldenReplayRunner replay = new GoldenReplayRunner(index);
        Map<String, Float32Tensor> inputs = new HashMap<String, Float32Tensor>();
        inputs.put("image", new Float32Tensor(TestFixtures.IMAGE, TestFixtures.values(1, 1, 12)));
        inputs.put("clicks", new Float32Tensor(TestFixtures.CLICKS, TestFixtures.values(1, 2, 8)));
        assertArrayEquals(TestFixtures.values(1, 3, 4), replay.run(inputs).get("mask").data(), 0f);
        inputs.put("clicks", new Float32Tensor(TestFixtures.CLICKS, TestFixtures.values(0, 2, 8)));
        try {
            replay.run(inputs);
            fail("mixed inputs of two cases matched one");
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("match no case"));
        }
    }
}
