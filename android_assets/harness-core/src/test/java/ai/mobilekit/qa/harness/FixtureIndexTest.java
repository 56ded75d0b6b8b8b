package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class FixtureIndexTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private String failure(File fixtures, Map<String, Object> index) throws Exception {
        TestFixtures.writeIndex(fixtures, index);
        try {
            FixtureIndex.load(fixtures);
        } catch (FixtureException e) {
            assertTrue("message names the index file: " + e.getMessage(), e.getMessage().startsWith(new File(fixtures, "index.json").getPath() + ": "));
            assertTrue("one line: " + e.getMessage(), !e.getMessage().contains("\n"));
            return e.getMessage();
        }
        fail("accepted a bad index");
        return null;
    }

    @Test
    public void parsesAGeneratedIndex() throws Exception {
        File fixtures = TestFixtures.write(tmp.getRoot(), 3);
        FixtureIndex index = FixtureIndex.load(fixtures);
        assertEquals("fake", index.bundleName);
        assertEquals("mask_iou", index.taskMetric);
        assertEquals(2, index.inputs.size());
        assertEquals("image", index.inputs.get(0).name);
        assertEquals("image", index.inputs.get(0).kind);
        assertEquals("tensor", index.inputs.get(1).kind);
        assertArrayEquals(TestFixtures.MASK, index.outputs.get(0).shape());
        assertEquals(3, index.cases.size());
        FixtureIndex.Case c = index.cases.get(2);
        assertEquals("case-002", c.id);
        assertEquals(2, c.withRole("input").size());
        FixtureIndex.TensorFile mask = c.tensor("mask", "expected");
        assertEquals("case-002/expected/mask.bin", mask.file);
        assertEquals(16, mask.bytes);
        assertEquals(new File(fixtures, "case-002/expected/mask.bin"), index.file(mask));
        FixtureIndex.Artifact a = index.tfliteArtifact();
        assertEquals(TestFixtures.TFLITE, a.path);
        assertEquals("tflite", a.target);
        assertEquals(1e-4, a.tolerance.maxAbs, 0);
        assertNull(a.tolerance.minPsnr);
        assertEquals(0.999, a.tolerance.minTaskMetric, 0);
    }

    @Test
    public void wrongFormatOrVersionIsClear() throws Exception {
        File fixtures = new File(tmp.getRoot(), "fixtures");
        Map<String, Object> index = TestFixtures.index(fixtures, 1);
        index.put("format", "something-else");
        String msg = failure(fixtures, index);
        assertTrue(msg, msg.contains("not mobilekit-device-fixtures version 1"));
        assertTrue(msg, msg.contains("\"something-else\""));
        index.put("format", FixtureIndex.FORMAT);
        index.put("format_version", 2L);
        msg = failure(fixtures, index);
        assertTrue(msg, msg.contains("format_version 2"));
        index.remove("format_version");
        msg = failure(fixtures, index);
        assertTrue(msg, msg.contains("format_version missing"));
    }

    @Test
    public void missingFieldsAreNamedWithTheirPath() throws Exception {
        File fixtures = new File(tmp.getRoot(), "fixtures");
        Map<String, Object> index = TestFixtures.index(fixtures, 2);
        TestFixtures.tensorEntry(index, 1, 0).remove("sha256");
        assertTrue(failure(fixtures, index).endsWith("cases[1].tensors[0]: missing \"sha256\""));

        index = TestFixtures.index(fixtures, 2);
        index.remove("cases");
        assertTrue(failure(fixtures, index).endsWith("missing \"cases\""));

        index = TestFixtures.index(fixtures, 2);
        index.remove("outputs");
        assertTrue(failure(fixtures, index).endsWith("missing \"outputs\""));

        index = TestFixtures.index(fixtures, 1);
        @SuppressWarnings("unchecked")
        List<Object> tensors = (List<Object>) ((Map<String, Object>) ((List<Object>) index.get("cases")).get(0)).get("tensors");
        tensors.remove(2);
        assertTrue(failure(fixtures, index).endsWith("cases[0].tensors: no expected tensor \"mask\""));
    }

    @Test
    public void inconsistentEntriesAreRefused() throws Exception {
        File fixtures = new File(tmp.getRoot(), "fixtures");
        Map<String, Object> index = TestFixtures.index(fixtures, 1);
        TestFixtures.tensorEntry(index, 0, 2).put("bytes", 15L);
        assertTrue(failure(fixtures, index).contains("cases[0].tensors[2].bytes: 15 does not match shape 1×2×2×1"));

        index = TestFixtures.index(fixtures, 1);
        TestFixtures.tensorEntry(index, 0, 0).put("file", "../../etc/passwd");
        assertTrue(failure(fixtures, index).contains("must stay inside the fixtures directory"));

        index = TestFixtures.index(fixtures, 1);
        TestFixtures.tensorEntry(index, 0, 1).put("byte_order", "big");
        assertTrue(failure(fixtures, index).contains("cases[0].tensors[1].byte_order: must be \"little\""));

        index = TestFixtures.index(fixtures, 1);
        TestFixtures.tensorEntry(index, 0, 2).put("shape", TestFixtures.shapeList(new int[] {1, 4}));
        assertTrue(failure(fixtures, index).contains("differs from the declared 1×2×2×1"));

        index = TestFixtures.index(fixtures, 1);
        TestFixtures.tensorEntry(index, 0, 2).put("name", "../mask");
        assertTrue(failure(fixtures, index).contains("cannot be used as a file name"));
    }

    @Test
    public void invalidJsonNamesFileAndPosition() throws Exception {
        File fixtures = tmp.newFolder("fixtures");
        IoUtil.writeBytes(new File(fixtures, "index.json"), "{\"format\": \"mobilekit-device-fixtures\",}".getBytes("UTF-8"));
        try {
            FixtureIndex.load(fixtures);
            fail();
        } catch (FixtureException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("index.json: not valid JSON (line 1, column 40"));
        }
        try {
            FixtureIndex.load(new File(tmp.getRoot(), "nowhere"));
            fail();
        } catch (FixtureException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nowhere" + File.separator + "index.json: not found"));
        }
    }

    @Test
    public void choosesTheTfliteArtifactOrTheOneNamed() throws Exception {
        File fixtures = new File(tmp.getRoot(), "fixtures");
        Map<String, Object> index = TestFixtures.index(fixtures, 1);
        @SuppressWarnings("unchecked")
        Map<String, Object> tolerances = (Map<String, Object>) index.get("tolerances");
        Map<String, Object> coreml = new LinkedHashMap<String, Object>();
        Map<String, Object> gate = new LinkedHashMap<String, Object>();
        gate.put("max_abs", 0.01);
        gate.put("min_psnr", 40.0);
        Map<String, Object> maskGate = new LinkedHashMap<String, Object>();
        maskGate.put("max_abs", 0.5);
        Map<String, Object> perOutput = new LinkedHashMap<String, Object>();
        perOutput.put("mask", maskGate);
        gate.put("outputs", perOutput);
        coreml.put("target", "coreml");
        coreml.put("precision", "fp16");
        coreml.put("tolerance", gate);
        tolerances.put("models/fake.mlpackage", coreml);
        TestFixtures.writeIndex(fixtures, index);
        FixtureIndex parsed = FixtureIndex.load(fixtures);
        assertEquals(TestFixtures.TFLITE, parsed.tfliteArtifact().path);
        assertEquals(TestFixtures.TFLITE, parsed.artifact(null).path);
        assertEquals(TestFixtures.TFLITE, parsed.artifact("fake.tflite").path);
        FixtureIndex.Artifact ml = parsed.artifact("coreml");
        assertEquals("models/fake.mlpackage", ml.path);
        assertEquals(40.0, ml.tolerance.minPsnr, 0);
        assertEquals(0.5, ml.tolerance.forOutput("mask").maxAbs, 0);
        assertNull(ml.tolerance.forOutput("mask").minPsnr);
        assertEquals(0.01, ml.tolerance.forOutput("other").maxAbs, 0);
        try {
            parsed.artifact("onnx");
            fail();
        } catch (FixtureException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("artifact \"onnx\" is not listed"));
        }

        tolerances.remove(TestFixtures.TFLITE);
        String msg = failureOfTflite(fixtures, index);
        assertTrue(msg, msg.contains("no .tflite artifact"));
        tolerances.put("models/a.tflite", coreml);
        tolerances.put("models/b.tflite", coreml);
        msg = failureOfTflite(fixtures, index);
        assertTrue(msg, msg.contains("2 .tflite artifacts"));
    }

    private String failureOfTflite(File fixtures, Map<String, Object> index) throws Exception {
        TestFixtures.writeIndex(fixtures, index);
        try {
            FixtureIndex.load(fixtures).tfliteArtifact();
        } catch (FixtureException e) {
            return e.getMessage();
        }
        fail("chose a .tflite artifact");
        return null;
    }
}
