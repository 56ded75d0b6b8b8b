package ai.mobilekit.qa.harness;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import java.io.File;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class OutputWriterTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void writesTheLayoutQaIngestReads() throws Exception {
        File out = new File(tmp.getRoot(), "device-out");
        OutputWriter w = new OutputWriter(out);
        Float32Tensor t = new Float32Tensor(new int[] {1, 2, 1}, new float[] {0.25f, -1f});
        File f0 = w.write("case-000", "mask", t);
        File f1 = w.write("case-001", "mask", t);
        assertEquals(new File(out, "case-000/mask.bin"), f0);
        assertEquals(new File(out, "case-001/mask.bin"), f1);
        assertArrayEquals(t.encode(), IoUtil.readBytes(f1));
        assertEquals(8, f0.length());

        File meta = w.writeDeviceInfo(new OutputWriter.DeviceInfo("Pixel 8", "Android 15", "litert-cpu", "models/x.tflite", null));
        assertEquals(new File(out, "device.json"), meta);
        Map<String, Object> want = new LinkedHashMap<String, Object>();
        want.put("device", "Pixel 8");
        want.put("os", "Android 15");
        want.put("runtime", "litert-cpu");
        want.put("artifact", "models/x.tflite");
        assertEquals(want, Json.parse(new String(IoUtil.readBytes(meta), "UTF-8")));

        String[] names = out.list();
        Arrays.sort(names);
        assertArrayEquals(new String[] {"case-000", "case-001", "device.json"}, names);
    }

    @Test
    public void refusesNamesThatEscapeTheOutputsDir() throws Exception {
        OutputWriter w = new OutputWriter(tmp.getRoot());
        for (String[] bad : new String[][] {{"..", "mask"}, {"case-000", "../mask"}, {"case/0", "mask"}, {"case-000", ""}}) {
            try {
                w.outputFile(bad[0], bad[1]);
                fail("accepted " + Arrays.toString(bad));
            } catch (IllegalArgumentException expected) {
                // refused
            }
        }
    }
}
