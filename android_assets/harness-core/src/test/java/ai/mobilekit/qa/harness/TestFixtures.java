package ai.mobilekit.qa.harness;

import java.io.File;
import java.io.IOException;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds small fixture trees like {@code mobilekit qa fixtures} writes: {@code fixtures/index.json} and
 * {@code fixtures/case-NNN/{inputs,expected}/<name>.bin}, with inputs image [1,2,2,3] and clicks
 * [1,2,2,2], output mask [1,2,2,1] and one .tflite artifact gated at max_abs 1e-4.
 */
final class TestFixtures {
    static final int[] IMAGE = {1, 2, 2, 3};
    static final int[] CLICKS = {1, 2, 2, 2};
    static final int[] MASK = {1, 2, 2, 1};
    static final String TFLITE = "models/fake.tflite";

    private TestFixtures() {
    }

    /** Deterministic values that differ per case and tensor. */
    static float[] values(int caseNo, int salt, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = ((i * 7 + caseNo * 13 + salt * 5) % 17) / 17f;
        }
        return v;
    }

    static String caseId(int i) {
        return String.format("case-%03d", i);
    }

    /** Writes {@code root/fixtures} with {@code cases} cases; returns the fixtures directory. */
    static File write(File root, int cases) throws IOException {
        File fixtures = new File(root, "fixtures");
        writeIndex(fixtures, index(fixtures, cases));
        return fixtures;
    }

    /** Writes the tensor files of {@code cases} cases under {@code fixtures} and returns their index (mutable). */
    static Map<String, Object> index(File fixtures, int cases) throws IOException {
        List<Object> caseList = new ArrayList<Object>();
        for (int i = 0; i < cases; i++) {
            String id = caseId(i);
            List<Object> tensors = new ArrayList<Object>();
            tensors.add(tensor(fixtures, id, "image", "input", IMAGE, values(i, 1, 12)));
            tensors.add(tensor(fixtures, id, "clicks", "input", CLICKS, values(i, 2, 8)));
            tensors.add(tensor(fixtures, id, "mask", "expected", MASK, values(i, 3, 4)));
            Map<String, Object> c = new LinkedHashMap<String, Object>();
            c.put("id", id);
            c.put("tensors", tensors);
            caseList.add(c);
        }
        Map<String, Object> tol = new LinkedHashMap<String, Object>();
        tol.put("max_abs", 1e-4);
        tol.put("min_task_metric", 0.999);
        Map<String, Object> entry = new LinkedHashMap<String, Object>();
        entry.put("target", "tflite");
        entry.put("precision", "fp32");
        entry.put("tolerance", tol);
        Map<String, Object> tolerances = new LinkedHashMap<String, Object>();
        tolerances.put(TFLITE, entry);

        Map<String, Object> bundle = new LinkedHashMap<String, Object>();
        bundle.put("name", "fake");
        bundle.put("version", "0.1.0");
        bundle.put("platform", "android");
        bundle.put("family", "segmentation");

        Map<String, Object> index = new LinkedHashMap<String, Object>();
        index.put("format", FixtureIndex.FORMAT);
        index.put("format_version", 1L);
        index.put("bundle", bundle);
        index.put("dtype", "float32");
        index.put("byte_order", "little");
        index.put("reference", "tensorflow");
        index.put("inputs", Arrays.<Object>asList(spec("image", IMAGE, "image"), spec("clicks", CLICKS, "tensor")));
        index.put("outputs", Arrays.<Object>asList(spec("mask", MASK, null)));
        index.put("tolerances", tolerances);
        index.put("task_metric", "mask_iou");
        index.put("cases", caseList);
        return index;
    }

    static void writeIndex(File fixtures, Map<String, Object> index) throws IOException {
        IoUtil.writeBytes(new File(fixtures, FixtureIndex.INDEX_NAME), Json.write(index).getBytes(Charset.forName("UTF-8")));
    }

    /** The tensor entry at {@code cases[c].tensors[t]} of an index map. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> tensorEntry(Map<String, Object> index, int c, int t) {
        Map<String, Object> kase = (Map<String, Object>) ((List<Object>) index.get("cases")).get(c);
        return (Map<String, Object>) ((List<Object>) kase.get("tensors")).get(t);
    }

    private static Map<String, Object> spec(String name, int[] shape, String kind) {
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("name", name);
        m.put("shape", shapeList(shape));
        if (kind != null) {
            m.put("kind", kind);
        }
        return m;
    }

    private static Map<String, Object> tensor(File fixtures, String caseId, String name, String role, int[] shape, float[] data)
            throws IOException {
        String rel = caseId + "/" + (role.equals("input") ? "inputs" : "expected") + "/" + name + ".bin";
        byte[] bytes = new Float32Tensor(shape, data).encode();
        IoUtil.writeBytes(new File(fixtures, rel), bytes);
        Map<String, Object> m = new LinkedHashMap<String, Object>();
        m.put("name", name);
        m.put("role", role);
        m.put("dtype", "float32");
        m.put("byte_order", "little");
        m.put("shape", shapeList(shape));
        m.put("file", rel);
        m.put("bytes", (long) bytes.length);
        m.put("sha256", Float32Tensor.sha256(bytes));
        return m;
    }

    static List<Object> shapeList(int[] shape) {
        List<Object> out = new ArrayList<Object>();
        for (int d : shape) {
            out.add((long) d);
        }
        return out;
    }
}
